"""The evaluation methods (issue 11): what each changes, determinism, reconstruction, calibration, cache keys."""

import json

import gymnasium as gym
import pytest
import torch

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import SplitConfig, kept_from_ratios
from coinfer_env.data import load_synthetic, normalize
from coinfer_env.evaluation import METHODS, EvalSettings, Evaluator, adaptive_bn, reconstruct
from coinfer_env.network import SplitNetwork
from coinfer_env.pruning import consumer_slices, prune_to
from coinfer_env.rng import deterministic_kernels

TINY = "CoInfer-ResNet50-Tiny-v0"


@pytest.fixture(scope="module")
def trained():
    """The bundled split-2 network: real weights, and only 6 prunable layers."""
    net = SplitNetwork(SplitConfig(8, 2))
    net.load_state_dict(ckpt.load_split(ckpt.bundled_dir(), 8, 2))
    return net.eval()


@pytest.fixture(scope="module")
def data():
    return load_synthetic(0, train_size=256, val_size=64, test_size=16)


def kept_at(ratio, split=2):
    return kept_from_ratios(SplitConfig(8, split), [ratio] * (2 * split + 2))


def _kernel_settings():
    return (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
            torch.utils.deterministic.fill_uninitialized_memory)


@pytest.mark.parametrize("fill", [True, False])
def test_deterministic_kernels_skip_the_nan_fill_and_restore_the_callers_settings(fill):
    torch.utils.deterministic.fill_uninitialized_memory = fill
    torch.backends.cudnn.benchmark = True
    before = _kernel_settings()
    try:
        with deterministic_kernels():
            assert _kernel_settings() == (True, True, True, False, False)  # the NaN fill off, the rest deterministic
        assert _kernel_settings() == before
    finally:
        torch.utils.deterministic.fill_uninitialized_memory = True
        torch.backends.cudnn.benchmark = False


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_is_deterministic_for_a_fixed_kept_vector(trained, data, method):
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    ev = Evaluator(trained, data.train, data.val, EvalSettings(method, steps=3, batch=16, bn_batches=2))
    (a, m1), (b, m2) = ev.evaluate(kept_at(0.5)), ev.evaluate(kept_at(0.5))
    assert all(torch.equal(v, trained.state_dict()[k]) for k, v in before.items())  # the trained network is never touched
    assert a.accuracy == b.accuracy
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert set(METHODS[method]) <= set(a.phases)


def test_finetune_whole_trains_the_server_that_finetune_leaves_frozen(trained, data):
    """The oracle is the trained network's own server blocks and classifier (after the decoder, never pruned):
    ``finetune`` must leave every one of their tensors as it was, and ``finetune-whole`` (the export recipe's scope)
    must change their weights and their BN statistics."""
    def tail(net):
        return {k: v for k, v in net.server.state_dict().items() if not k.startswith("decoder.")}

    before = {k: v.clone() for k, v in tail(trained).items()}
    built = {m: Evaluator(trained, data.train, data.val, EvalSettings(m, steps=3, batch=16)).build(kept_at(0.5))[0]
             for m in ("finetune", "finetune-whole")}
    frozen, whole = tail(built["finetune"]), tail(built["finetune-whole"])
    assert before and all(torch.equal(frozen[k], v) for k, v in before.items())
    changed = {k for k, v in before.items() if not torch.equal(whole[k], v)}
    assert any(k.endswith("weight") for k in changed) and any(k.endswith("running_mean") for k in changed)
    device = {m: dict(built[m].device.named_parameters()) for m in built}
    assert any(not torch.equal(device["finetune"][k], device["finetune-whole"][k]) for k in device["finetune"])


def test_adaptive_bn_changes_only_bn_buffers(trained, data):
    model = prune_to(trained, kept_at(0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    adaptive_bn(model, [normalize(data.train.images[:32]), normalize(data.train.images[32:64])])
    after = model.state_dict()
    params = {n for n, _ in model.named_parameters()}
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed, "adaptive BN changed nothing"
    assert not changed & params
    assert all(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in changed)
    # the statistics are those of the batches: the first BN's mean is the channel mean of its input
    x = normalize(data.train.images[:64])
    first = model.device.stem[0](x)
    assert torch.allclose(model.device.stem[1].running_mean, first.mean((0, 2, 3)), atol=1e-5)


def test_reconstruct_lowers_each_refitted_layers_error_against_the_unpruned_output(trained, data):
    kept = kept_at(0.4)
    slices = consumer_slices(trained, kept)
    assert "device.blocks.0.conv3" in slices and "server.decoder.fc" in slices
    x = normalize(data.train.images[:128])

    def layer_error(model):
        """Oracle: squared error of each refitted layer's output against the unpruned one, on the pruned net's own input."""
        got, want = {}, {}
        hooks = [model.get_submodule(n).register_forward_hook(lambda m, i, o, n=n: got.__setitem__(n, o)) for n in slices]
        hooks += [trained.get_submodule(n).register_forward_hook(lambda m, i, o, n=n: want.__setitem__(n, o)) for n in slices]
        with torch.no_grad():
            model.eval()(x), trained(x)
        for h in hooks:
            h.remove()
        return {n: (got[n] - (want[n] if slices[n] is None else want[n].index_select(1, slices[n]))).pow(2).mean().item()
                for n in slices}

    plain = prune_to(trained, kept)
    refit = prune_to(trained, kept)
    reconstruct(refit, trained, kept, [x], seed=0)
    e_plain, e_refit = layer_error(plain), layer_error(refit)
    for n in slices:
        assert e_refit[n] < e_plain[n], n
    # only the refitted layers' weights changed
    sp, sr = plain.state_dict(), refit.state_dict()
    assert {k.rsplit(".", 1)[0] for k in sp if not torch.equal(sp[k], sr[k])} == set(slices)


@pytest.mark.parametrize("conv", [
    torch.nn.Conv2d(5, 3, 3, padding=1), torch.nn.Conv2d(5, 3, 3, stride=2, padding=1),
    torch.nn.Conv2d(5, 3, 1, stride=2), torch.nn.Conv2d(5, 3, 3, padding=2, dilation=2), torch.nn.Conv2d(5, 3, (3, 1)),
])
def test_sampled_patches_are_unfolds_rows(conv):
    """Oracle: F.unfold over every position, then the sampled rows; the gather must give the same values in the same order."""
    from coinfer_env.evaluation import _layer_rows, _output_rows

    x = torch.randn(4, 5, 9, 7).to(memory_format=torch.channels_last)
    y = conv(x)
    all_rows = y.shape[0] * y.shape[2] * y.shape[3]
    rows = torch.randperm(all_rows, generator=torch.Generator().manual_seed(0))[:50]
    cols = torch.nn.functional.unfold(x, conv.kernel_size, conv.dilation, conv.padding, conv.stride)
    assert torch.equal(_layer_rows(conv, x, rows), cols.transpose(1, 2).reshape(-1, cols.shape[1])[rows])
    assert torch.equal(_layer_rows(conv, x, None), cols.transpose(1, 2).reshape(-1, cols.shape[1]))
    # and the output row r is the output at the same (image, position) as the patch row r
    assert torch.allclose(_output_rows(y, rows) - conv.bias, _layer_rows(conv, x, rows) @ conv.weight.flatten(1).T, atol=1e-5)


def test_calibration_is_monotone_and_refuses_a_non_monotone_map():
    c = calib.fit([0.1, 0.3, 0.5, 0.7], [0.3, 0.45, 0.6, 0.7])
    values = [c(a / 100) for a in range(101)]
    assert all(b >= a for a, b in zip(values, values[1:]))
    assert c(0.1) > 0.1 and 0 <= c(0) and c(1) <= 1
    (x0, y0), (x1, y1) = calib.fit([0.1, 0.2, 0.3], [0.5, 0.4, 0.3]).knots
    assert y1 > y0  # a falling fit is floored, not inverted
    with pytest.raises(ValueError, match="slope"):
        calib.Calibration.line(-1.0, 0.0)
    with pytest.raises(ValueError, match="monotone"):
        calib.Calibration(((0.1, 0.5), (0.2, 0.4)), "isotonic")
    with pytest.raises(ValueError, match="kind 'spline'"):
        calib.fit([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], "spline")


def test_isotonic_calibration_pools_violators_and_is_flat_beyond_the_panel():
    # pool adjacent violators by hand: 0.5 > 0.4 pool to 0.45; joined linearly, flat beyond the ends
    c = calib.fit([0.1, 0.2, 0.3, 0.4], [0.3, 0.5, 0.4, 0.6], "isotonic")
    assert [v for k in c.knots for v in k] == pytest.approx([0.1, 0.3, 0.2, 0.45, 0.3, 0.45, 0.4, 0.6])
    assert c(0.25) == pytest.approx(0.45) and c(0.35) == pytest.approx(0.525)
    assert c(0.0) == pytest.approx(0.3) and c(0.9) == pytest.approx(0.6)
    # equal proxies are pooled first, weighted by count
    pooled = calib.fit([0.1, 0.1, 0.1, 0.3], [0.2, 0.4, 0.3, 0.5], "isotonic")
    assert [v for k in pooled.knots for v in k] == pytest.approx([0.1, 0.3, 0.3, 0.5])
    # a falling panel gives one flat map, its mean
    flat = calib.fit([0.1, 0.2, 0.3], [0.6, 0.5, 0.4], "isotonic")
    assert {round(y, 9) for _, y in flat.knots} == {0.5}


@pytest.mark.parametrize("kind", calib.KINDS)
def test_a_weight_of_two_counts_as_the_network_twice(kind):
    x, y = [0.1, 0.2, 0.3, 0.4], [0.3, 0.5, 0.4, 0.6]
    weighted = calib.fit(x, y, kind, weights=[1, 2, 1, 2])
    twice = calib.fit(x + [0.2, 0.4], y + [0.5, 0.6], kind)
    assert [v for k in weighted.knots for v in k] == pytest.approx([v for k in twice.knots for v in k])
    # by hand, isotonic: 0.5 (weight 2) and 0.4 pool to (2 * 0.5 + 0.4) / 3
    if kind == "isotonic":
        assert weighted(0.25) == pytest.approx(1.4 / 3)
    with pytest.raises(ValueError, match="weights .* must be positive, one per network"):
        calib.fit(x, y, kind, weights=[1, 0, 1, 1])


def test_leave_one_out_error_by_hand():
    x = y = [0.0, 1 / 3, 2 / 3, 1.0]
    assert calib.loo_error(x, y, "line") == pytest.approx(0.0, abs=1e-12)  # any three of them give the same line
    # isotonic: an inner one is interpolated exactly; an end one gets its neighbour's value, 1/3 away
    assert calib.loo_error(x, y, "isotonic") == pytest.approx((1 / 3 + 0 + 0 + 1 / 3) / 4)


def test_a_calibration_written_before_the_isotonic_kind_still_reads_as_its_line(tmp_path):
    settings = EvalSettings("adaptive-bn", bn_batches=1)
    entry = {"width": 8, "split_point": 1, "weights_sha256": "abc", "evaluation": calib.settings_key(settings),
             "slope": 0.5, "intercept": 0.4}
    (tmp_path / calib.FILE_NAME).write_text(json.dumps({"fits": [entry]}))
    c = calib.lookup(tmp_path, 8, 1, "abc", settings)
    assert c.kind == "line" and c(0.5) == pytest.approx(0.65)


def test_a_withdrawn_fit_is_refused_with_its_reason_until_a_new_fit_replaces_it(tmp_path):
    settings, other = EvalSettings("adaptive-bn", bn_batches=1), EvalSettings("adaptive-bn", bn_batches=2)
    for s in (settings, other):
        calib.save(tmp_path, 8, 1, "abc", s, calib.Calibration.line(0.5, 0.4))
    shipped = calib.stored(tmp_path, 8, 1, "abc", settings)
    calib.withdraw(tmp_path, 8, 1, settings, "it missed the held-out check")
    with pytest.raises(ValueError, match="Its fit was withdrawn: it missed the held-out check. Fit one with"):
        calib.lookup(tmp_path, 8, 1, "abc", settings)
    assert calib.stored(tmp_path, 8, 1, "abc", settings) is None
    # the record keeps the entry it took out, whole, so it can be judged again; for other weights there is none
    assert calib.withdrawn_entry(tmp_path, 8, 1, "abc", settings) == shipped
    assert calib.withdrawn_entry(tmp_path, 8, 1, "other weights", settings) is None
    calib.withdraw(tmp_path, 8, 1, settings, "a second check")  # nothing ships now: the earlier record's fit stays
    assert calib.withdrawn_entry(tmp_path, 8, 1, "abc", settings) == shipped
    with pytest.raises(ValueError, match="Its fit was withdrawn: a second check. Fit one with"):
        calib.lookup(tmp_path, 8, 1, "abc", settings)
    assert calib.lookup(tmp_path, 8, 1, "abc", other)(0.5) == pytest.approx(0.65)  # the other settings' fit stays
    calib.save(tmp_path, 8, 1, "abc", settings, calib.Calibration.line(1.0, 0.1))
    assert calib.lookup(tmp_path, 8, 1, "abc", settings)(0.5) == pytest.approx(0.6)
    assert "withdrawn" not in json.loads((tmp_path / calib.FILE_NAME).read_text())


def reward_fidelity_module():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("rf", Path(__file__).parents[1] / "benchmarks" / "reward_fidelity.py")
    rf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rf)
    return rf


def test_the_search_panel_draws_the_designs_the_random_agent_plays():
    from agents.random_search import RandomSearch
    from coinfer_env.accounting import cost

    env = gym.make(TINY, pretrained=False, dataset="synthetic", eval_images=16, evaluation="adaptive-bn", bn_batches=1,
                   cache=False)
    played = RandomSearch().run(env, 3, seed=5).history
    config, bps = env.unwrapped.config, env.unwrapped.trained.bits_per_symbol
    drawn = [cost(config, k, bps) for k in reward_fidelity_module().search_designs(config, 3, 5)]
    assert [(h["flops"], h["bits"]) for h in played] == [(c.flops, c.bits) for c in drawn]
    assert len({h["flops"] for h in played}) == 3


def test_the_ground_truth_of_one_length_of_fine_tune_is_never_read_as_another(tmp_path):
    rf = reward_fidelity_module()
    path = tmp_path / "ground_truth.csv"
    for kept, seed, epochs, acc in (("[1, 2]", 0, 1, 0.4), ("[1, 2]", 0, 10, 0.7), ("[1, 2]", 1, 10, 0.68), ("[3, 4]", 0, 1, 0.5)):
        rf.append_row(path, {"kept": kept, "seed": seed, "epochs": epochs, "test_accuracy": acc, "seconds": 1.0})
    assert rf.read_ground_truth(path, 10) == {("[1, 2]", 0): 0.7, ("[1, 2]", 1): 0.68}
    assert rf.read_ground_truth(path, 1) == {("[1, 2]", 0): 0.4, ("[3, 4]", 0): 0.5}
    assert rf.read_ground_truth(path, 2) == {}


def test_every_appended_row_names_its_hardware_and_an_older_file_gains_the_columns(tmp_path):
    import csv

    from coinfer_env.hardware import device_name

    rf = reward_fidelity_module()
    path = tmp_path / "ground_truth.csv"
    path.write_text('kept,seed,epochs,test_accuracy,seconds\n"[1, 2]",0,10,0.7,1.0\n')  # written before the columns
    rf.append_row(path, {"kept": "[3, 4]", "seed": 0, "epochs": 10, "test_accuracy": 0.6, "seconds": 2.0})
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    here = device_name(torch.device("cpu"))
    assert [(r["kept"], r["test_accuracy"], r["hardware"], r["threads"]) for r in rows] == [
        ("[1, 2]", "0.7", "", ""), ("[3, 4]", "0.6", here, str(torch.get_num_threads()))]
    assert rf.read_ground_truth(path, 10) == {("[1, 2]", 0): 0.7, ("[3, 4]", 0): 0.6}
    assert rf.hosts_text(rows + rows[1:]) == f"2 on {here}, {torch.get_num_threads()} threads; 1 unrecorded"
    assert not list(tmp_path.glob(".*.tmp"))


def test_shipped_calibrations_were_fitted_off_the_measurement_panels():
    rf = reward_fidelity_module()
    path = ckpt.bundled_dir() / calib.FILE_NAME
    data = json.loads(path.read_text())
    # the maps that ship and those the withdrawal records keep: every one of them shipped once
    fits = data["fits"] + [w["fit"] for w in data.get("withdrawn", []) if "fit" in w]
    assert fits
    for fit in fits:
        config, seed = SplitConfig(fit["width"], fit["split_point"]), fit["panel_seed"] - 1000
        panels = rf.panels(config, fit["panel_size"], seed)
        searched = rf.calibration_search(config, fit["search_networks"], seed) if "search_seed" in fit else []
        assert fit.get("search_seed", seed + 3000) == seed + 3000
        assert fit["networks"] == len(panels["calibration"]) + len(searched)
        # the fixed panels, the search panels' 300 draws, and every draw of the benches' random searches (seeds 0-9)
        measured = {k for name in ("broad", "sweep", "narrow") for k in panels[name]}
        measured |= {k for s in [seed + 2000, *range(10)] for k in rf.search_designs(config, 300, s)}
        assert not measured & (set(panels["calibration"]) | set(searched))


def test_a_calibrated_env_reports_raw_and_calibrated_accuracy(tmp_path):
    import shutil

    for f in ("resnet50-w8-backbone.pt", "resnet50-w8-split01.pt"):
        shutil.copy(ckpt.bundled_dir() / f, tmp_path / f)
    settings = EvalSettings("adaptive-bn", bn_batches=1)
    calib.save(tmp_path, 8, 1, ckpt.split_digest(tmp_path, 8, 1), settings, calib.Calibration.line(0.5, 0.4))
    kw = dict(split_point=1, checkpoint_dir=tmp_path, evaluation="adaptive-bn", bn_batches=1, eval_images=100, cache=False)
    info = gym.make(TINY, calibrated=True, **kw).unwrapped.evaluate([0.5] * 4)
    assert info["accuracy"] == pytest.approx(0.5 * info["accuracy_raw"] + 0.4)
    with pytest.raises(ValueError, match="no fit"):
        gym.make(TINY, calibrated=True, **{**kw, "bn_batches": 2})
    plain = gym.make(TINY, **kw).unwrapped.evaluate([0.5] * 4)
    assert plain["accuracy"] == plain["accuracy_raw"] == info["accuracy_raw"]


def test_the_cache_key_holds_the_method_and_its_budget():
    kw = dict(pretrained=False, dataset="synthetic", eval_images=16)
    keys = {gym.make(TINY, split_point=1, **kw, **extra).unwrapped._cache_key() for extra in (
        {}, {"evaluation": "adaptive-bn"}, {"evaluation": "adaptive-bn", "bn_batches": 4}, {"finetune_steps": 3})}
    assert len(keys) == 4

"""Baselines: PNG and Huffman payloads, GDN, every scheme's points, latency and select."""

import io
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from baselines import SCHEMES, Context, scheme
from baselines.codecs import GDN
from baselines.common import Head, counted_flops, prefix_flops
from baselines.huffman import canonical_codes, code_lengths, coded_bits, decode, encode, table_bits
from baselines.latency import latency, parse_rate, select
from baselines.partition import png_bits
from baselines.schemes import STEP1_EPOCHS
from coinfer_env import SplitConfig, cost
from coinfer_env.architecture import full_kept
from coinfer_env.hardware import device_name
from coinfer_env.recipe import BATCH


def test_png_payload_is_pillows_own_encoding_and_lossless():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    images[1] = 7  # a flat image compresses far better
    bits = png_bits(images)
    for img, b in zip(images, bits):
        buf = io.BytesIO()
        Image.fromarray(img.transpose(1, 2, 0)).save(buf, format="PNG", optimize=True, compress_level=9)
        assert b == 8 * len(buf.getvalue())
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(buf.getvalue()))).transpose(2, 0, 1), img)
    assert bits[1] < bits[0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=2, max_size=400))
def test_huffman_kraft_equality_roundtrip_and_entropy_bound(values):
    symbols = np.array(values, dtype=np.uint8)
    counts = np.bincount(symbols, minlength=256)
    lengths = code_lengths(counts)
    codes = canonical_codes(lengths)
    if len(lengths) > 1:
        assert sum(2.0 ** -n for n in lengths.values()) == pytest.approx(1.0)  # Kraft with equality
    assert decode(encode(symbols, codes), codes) == symbols.tolist()
    assert all(not b.startswith(a) for a in codes.values() for b in codes.values() if a != b)  # prefix-free
    p = counts[counts > 0] / counts.sum()
    entropy = -(p * np.log2(p)).sum()
    average = sum(counts[s] * n for s, n in lengths.items()) / counts.sum()
    assert entropy - 1e-9 <= average < entropy + 1 + 1e-9
    assert coded_bits(symbols) == int(average * counts.sum() + 0.5) + table_bits(lengths)


def test_gdn_shapes_and_identity_case():
    x = torch.randn(2, 4, 5, 5)
    for inverse in (False, True):
        g = GDN(4, inverse)
        assert g(x).shape == x.shape and torch.isfinite(g(x)).all()
        with torch.no_grad():
            g.gamma.zero_()
            g.beta.fill_(1.0)
        torch.testing.assert_close(g(x), x)  # beta 1, gamma 0: sqrt(1) = 1
    g = GDN(1)
    with torch.no_grad():
        g.gamma.fill_(1.0)
        g.beta.fill_(1.0)
    assert g(torch.tensor([[[[2.0]]]])).item() == pytest.approx(2 / math.sqrt(5))


def test_prefix_flops_match_torch_counter():
    ctx = Context.load(dataset="synthetic", device="cpu")
    for k in (1, 8, 16):
        net = ctx.plain_network(k)
        assert prefix_flops(8, k) == counted_flops(Head(net, k), torch.zeros(1, 3, 32, 32))


@pytest.fixture(scope="module")
def tiny_context():
    return Context.load(dataset="synthetic", device="cpu", budget=STEP1_EPOCHS + 2)


FAST_ENV = {"dataset": "synthetic", "eval_images": 32, "finetune_steps": 1, "cache": False}


QUICK = {"ipdr": {"step": 0.5, "max_sparsity": 0.5}, "paa": {"iterations": 2, "score_images": 64},
         "bottlenet++": {"reductions": (64, 16)}}  # short loops, same code


@pytest.mark.parametrize("name", SCHEMES)
def test_every_scheme_returns_well_formed_points(tiny_context, name, monkeypatch):
    import coinfer_env.recipe as recipe

    steps = []  # every training stage runs through recipe.train_steps: count what it is really asked to do
    real = recipe.train_steps
    monkeypatch.setattr(recipe, "train_steps", lambda model, data, n, *a, **kw: steps.append(n) or real(model, data, n, *a, **kw))
    s = scheme(name, episodes=2, buffer_episodes=2) if name.startswith("proposed") else scheme(name, **QUICK.get(name, {}))
    points = s.points(tiny_context, [3], FAST_ENV) if name.startswith("proposed") else s.points(tiny_context, [3])
    total = tiny_context.total_flops()
    assert len(points) == 1
    p = points[0]
    assert p.scheme == name and 0.0 <= p.test_accuracy <= 1.0 and p.payload_bits > 0
    assert 0 <= p.device_flops <= total * 1.1 and p.server_flops > 0
    learned = name not in ("server-png", "simple-partition")
    assert ("epochs" in p.notes) == learned  # every learned scheme states its training budget
    if learned:  # ... which is the same for all, and is what it trained (the proposed's step-1 epochs are the shipped codec's)
        per_epoch = len(tiny_context.data.train) // BATCH
        trained = sum(steps) // per_epoch + (STEP1_EPOCHS if name.startswith("proposed") else 0)
        assert p.notes["epochs"] == tiny_context.budget == trained and sum(steps) % per_epoch == 0
    if name == "server-png":
        assert p.split_point == 0 and p.device_flops == 0 and p.server_flops == total
        return
    assert p.split_point == 3
    C, H, W = 32, 32, 32  # block 3 of the width-8 net: 4 x 8 channels at full resolution
    backbone = prefix_flops(8, 3)
    if name == "bottlenet++":  # the full device backbone, then conv 2x2/2 to C/r channels (r chosen per split); 8-bit symbols
        r = p.notes["reduction"]
        assert r in (64, 16) and p.notes["candidates"] == (1 if r == 64 else 2)
        small = max(1, C // r)  # at least one channel
        assert p.device_flops == backbone + 2 * C * small * 4 * (H // 2) * (W // 2)
        assert p.payload_bits == small * (H // 2) * (W // 2) * 8
    elif name == "simple-partition":  # nothing but the backbone on the device
        assert p.device_flops == backbone
    elif name == "ipdr":  # a dense, physically pruned backbone (FLOPs by the accounting formula) and the AutoML encoder
        kept = [int(c) for c in p.notes["kept"].split("/")]
        encoder = cost(SplitConfig(8, 3)).flops - backbone
        assert p.device_flops == prefix_flops(8, 3, kept + list(full_kept(SplitConfig(8, 3))[-2:])) + encoder
        assert p.notes["sparsity"] in (0.0, 0.5) and (p.notes["sparsity"] == 0.0) == (p.device_flops == backbone + encoder)
    else:  # pruned device parts compute less than the unpruned backbone with the AutoML encoder
        assert 0 < p.device_flops < cost(SplitConfig(8, 3)).flops
    if name.startswith("proposed"):  # the design it records (the search's best, encoder included) is the one it deployed
        kept = [int(c) for c in p.notes["kept"].split("/")]
        assert len(kept) == len(full_kept(SplitConfig(8, 3))) and p.device_flops == cost(SplitConfig(8, 3), kept).flops
    if name == "paa":  # half of the device conv1/conv2 channels are physically gone; analog symbols charged at capacity
        assert p.payload_bits == pytest.approx((C // 16) * (H // 2) * (W // 2) * 0.5 * math.log2(101))  # 20 dB: SNR 100
        kept, full = [int(c) for c in p.notes["kept"].split("/")], full_kept(SplitConfig(8, 3))[:-2]
        assert sum(kept) == sum(full) - round(0.5 * sum(full)) and all(k >= 1 for k in kept)


@pytest.mark.parametrize("name", ["bottlenet++", "2-step", "paa", "ipdr", "proposed-ddpg"])
def test_a_budget_too_small_for_a_scheme_is_refused_before_training(name):
    ctx = Context.load(dataset="synthetic", device="cpu", budget=1)
    with pytest.raises(ValueError, match=f"budget 1 epochs is too small for {name}"):
        scheme(name).points(ctx, [3])


def ipdr_masked(ctx, split=3, sparsity=0.5):
    from baselines.ipdr import _pipeline, l2_masks
    from baselines.masks import ChannelMasks

    net = ctx.plain_network(split)
    net.channel = ctx.make_channel()
    masks = ChannelMasks(net)
    masks.set(l2_masks(masks, sparsity))
    return net, masks, _pipeline(net, split)


def test_ipdr_prunes_whole_channels_and_removing_them_changes_no_output(tiny_context):
    """Masks act after BN, so the physically smaller network computes exactly what the masked one did."""
    from baselines.ipdr import _pipeline

    net, masks, p = ipdr_masked(tiny_context)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        masked = p.eval()(x)
    full = [b.conv1.out_channels for b in net.device.blocks]
    small = masks.prune()
    assert [b.conv1.out_channels for b in small.device.blocks] == [c - c // 2 for c in full]
    with torch.no_grad():
        pruned = _pipeline(small, 3).eval()(x)
    assert torch.allclose(masked, pruned, atol=1e-5)
    head = counted_flops(Head(small, 3), x[:1])
    assert head == prefix_flops(8, 3, list(small.kept)) and head < 0.5 * prefix_flops(8, 3) + 1


def test_ipdr_masks_the_smallest_l2_channels_and_trains_only_the_others(tiny_context):
    from coinfer_env.loops import train_steps
    from coinfer_env.recipe import sgd

    net, masks, p = ipdr_masked(tiny_context)
    conv = net.device.blocks[0].conv1
    norms = conv.weight.detach().flatten(1).norm(dim=1)
    assert norms[~masks.masks[0]].max() <= norms[masks.masks[0]].min()
    before = conv.weight.detach().clone()
    train_steps(p, tiny_context.data.train, 2, 16, sgd(p.parameters(), 0.1), torch.Generator().manual_seed(0),
                on_step=masks.restore)
    changed = (conv.weight.detach() != before).flatten(1).any(1)
    assert not changed[~masks.masks[0]].any() and changed[masks.masks[0]].all()


def test_latency_hand_computed():
    # 24e9 FLOPs on a 24 GFLOP/s device = 1 s; 80,000 bits at 10 KB/s = 1 s; 13.45e12 server FLOPs at 13.45 TFLOP/s = 1 s
    assert latency(24e9, 80_000, 13.45e12, 24e9, 10_000, 13.45e12) == pytest.approx(3.0)
    assert latency(0, 8e6, 0, 1, 1e6) == pytest.approx(1.0)
    assert parse_rate("40KB/s") == 40_000 and parse_rate("2MB/s") == 2e6 and parse_rate("8Mbps") == 1e6
    with pytest.raises(ValueError, match="40 parsecs"):
        parse_rate("40 parsecs")


def test_select_picks_fastest_design_meeting_the_floor():
    rows = [
        {"scheme": "a", "split_point": 1, "device_flops": 0, "payload_bits": 800_000, "server_flops": 0, "test_accuracy": 0.9},
        {"scheme": "b", "split_point": 2, "device_flops": 24e9, "payload_bits": 8_000, "server_flops": 0, "test_accuracy": 0.9},
        {"scheme": "c", "split_point": 3, "device_flops": 0, "payload_bits": 8, "server_flops": 0, "test_accuracy": 0.5},
    ]
    # at 10 KB/s: a = 10 s, b = 1 s + 0.1 s; c is fastest but below the floor
    ranked = select(rows, 24e9, 10_000, min_accuracy=0.8)
    assert [c.row["scheme"] for c in ranked] == ["b", "a"]
    assert ranked[0].seconds == pytest.approx(1.1)
    # at 10 MB/s sending is cheap: a wins
    assert select(rows, 24e9, 1e7, min_accuracy=0.8)[0].row["scheme"] == "a"


def test_select_cli_on_a_small_table(tmp_path, capsys):
    from coinfer_cli.main import main

    (tmp_path / "t.csv").write_text(
        "scheme,split_point,device_flops,payload_bits,test_accuracy,server_flops\n"
        "x,13,24000000000,8000,0.9,0\ny,0,0,800000,0.91,0\n"
    )
    assert main(["select", "--device", "rpi3", "--rate", "10KB/s", "--results", str(tmp_path / "t.csv"), "--min-accuracy", "0.85"]) == 0
    assert "choose x split at 13" in capsys.readouterr().out
    assert main(["select", "--rate", "fast", "--results", str(tmp_path / "t.csv")]) == 2


def test_select_chooses_on_the_mean_over_seeds_not_the_luckiest_seed(tmp_path, capsys):
    from coinfer_cli.main import main

    (tmp_path / "t.csv").write_text(
        "scheme,split_point,seed,device_flops,payload_bits,test_accuracy,server_flops\n"
        "x,13,0,24000000000,8000,0.95,0\nx,13,1,24000000000,8000,0.80,0\ny,0,0,0,800000,0.91,0\ny,0,1,0,800000,0.91,0\n"
    )  # x is faster, but only its lucky seed meets 0.9
    assert main(["select", "--device", "rpi3", "--rate", "10KB/s", "--results", str(tmp_path / "t.csv"), "--min-accuracy", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "choose y split at 0" in out and "mean of its 2 to 2 seeds" in out and "(1 of 2 designs meet it)" in out


def test_mean_over_seeds_matches_numpy():
    from baselines.seeds import mean_over_seeds

    acc = [0.61, 0.65, 0.70]
    rows = [{"scheme": "a", "split_point": "3", "device_flops": 10 * i, "payload_bits": 5, "server_flops": 1, "test_accuracy": a}
            for i, a in enumerate(acc)] + [{"scheme": "b", "split_point": 3, "device_flops": 1, "payload_bits": 2, "server_flops": 3,
                                            "test_accuracy": 0.5}]
    a, b = mean_over_seeds(rows)
    assert (a["scheme"], a["split_point"], a["seeds"], b["seeds"]) == ("a", 3, 3, 1)
    assert a["test_accuracy"] == pytest.approx(np.mean(acc)) and a["test_accuracy_se"] == pytest.approx(np.std(acc, ddof=1) / np.sqrt(3))
    assert a["payload_bits_se"] == 0.0 and b["test_accuracy_se"] == 0.0 and a["device_flops"] == pytest.approx(10.0)
    same = 0.7807276302851525  # three equal floats whose plain float mean is off by one ulp
    (c,) = mean_over_seeds([{"scheme": "c", "split_point": 1, "device_flops": 1, "payload_bits": 1, "server_flops": 1,
                             "test_accuracy": same}] * 3)
    assert c["test_accuracy"] == same and c["test_accuracy_se"] == 0.0


def test_paa_taylor_scores_are_the_loss_derivative_of_a_channel_gate(tiny_context):
    """Oracle: |dLoss/d gate_c| / (H W) for a gate multiplying channel c, image by image, then averaged."""
    from baselines.masks import ChannelMasks
    from baselines.paa import taylor_scores
    from coinfer_env.data import normalize
    from coinfer_env.network import Backbone

    net = tiny_context.plain_network(2)
    masks = ChannelMasks(net)
    images, labels = tiny_context.data.train.images[:3], tiny_context.data.train.labels[:3]
    scores = taylor_scores(net, masks, images, labels)
    gates = [torch.ones(conv.out_channels, requires_grad=True) for conv, _ in masks.layers]
    hooks = [bn.register_forward_hook(lambda _m, _i, out, g=g: out * g.view(1, -1, 1, 1)) for g, (_, bn) in zip(gates, masks.layers)]
    expected = [torch.zeros_like(s) for s in scores]
    model = Backbone(net).eval()
    for j in range(3):
        loss = torch.nn.functional.cross_entropy(model(normalize(images[j : j + 1])), labels[j : j + 1], reduction="sum")
        grads = torch.autograd.grad(loss, gates)
        for e, gr, (conv, _) in zip(expected, grads, masks.layers):
            hw = 32 * 32 if conv.stride == (1, 1) else 16 * 16  # blocks 1-2 run at full resolution
            e += gr.abs() / hw / 3
    for h in hooks:
        h.remove()
    for s, e in zip(scores, expected):
        assert torch.allclose(s, e, rtol=1e-4, atol=1e-9)
    assert not any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_paa_prunes_the_globally_lowest_scores_and_keeps_a_channel_per_layer():
    from baselines.paa import prune_globally

    scores = [torch.tensor([0.1, 0.5]), torch.tensor([0.2, 0.3, 0.05]), torch.tensor([0.01])]
    masks = [torch.ones(2, dtype=torch.bool), torch.ones(3, dtype=torch.bool), torch.ones(1, dtype=torch.bool)]
    out = prune_globally(scores, masks, 3)
    assert [m.tolist() for m in out] == [[False, True], [False, True, False], [True]]
    assert [m.tolist() for m in prune_globally(scores, out, 10)] == [[False, True], [False, True, False], [True]]


def test_tradeoff_example_writes_every_seed_and_their_mean_with_standard_errors(tmp_path):
    """The figure script: one CSV row per seed, a mean row per (scheme, split) with s.e., and the plot."""
    import csv
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    command = [sys.executable, str(repo / "examples" / "tradeoff.py"), "--schemes", "server-png,simple-partition",
               "--splits", "3,7", "--seeds", "2", "--dataset", "synthetic", "--device", "cpu", "--out", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True)
    rows = list(csv.DictReader(open(tmp_path / "tradeoff.csv")))
    assert sorted((r["scheme"], r["split_point"], r["seed"]) for r in rows) == sorted(
        [("server-png", "0", "0"), ("server-png", "0", "1")] + [("simple-partition", k, s) for k in ("3", "7") for s in ("0", "1")])
    means = {(r["scheme"], r["split_point"]): r for r in csv.DictReader(open(tmp_path / "tradeoff_mean.csv"))}
    for (name, k), m in means.items():
        acc = np.array([float(r["test_accuracy"]) for r in rows if (r["scheme"], r["split_point"]) == (name, k)])
        assert float(m["test_accuracy"]) == pytest.approx(acc.mean())
        assert float(m["test_accuracy_se"]) == pytest.approx(acc.std(ddof=1) / np.sqrt(2))
    assert (tmp_path / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = subprocess.run(command, capture_output=True, text=True, check=True)  # a rerun reuses every finished job
    assert "6 jobs, 6 already finished" in again.stdout and list(csv.DictReader(open(tmp_path / "tradeoff.csv"))) == rows
    other = subprocess.run(command + ["--budget", "20"], capture_output=True, text=True)  # never mixed with other settings
    assert other.returncode == 2 and "was run with other settings" in other.stderr
    job = tmp_path / "jobs" / "simple-partition-split3-seed0.json"
    saved = json.loads(job.read_text())
    job.write_text(json.dumps({**saved, "job": {**saved["job"], "weights": "0" * 64}}))  # as if made on other weights
    stale = subprocess.run(command, capture_output=True, text=True)
    assert stale.returncode == 2 and str(job) in stale.stderr and "other settings: weights '0000" in stale.stderr
    job.write_text(json.dumps({**saved, "job": {**saved["job"], "code": "0.0+older"}}))  # as if made by other code
    older = subprocess.run(command, capture_output=True, text=True)
    assert older.returncode == 2 and "other settings: code '0.0+older'" in older.stderr
    job.write_text(json.dumps({**saved, "job": {k: v for k, v in saved["job"].items() if k != "code"}}))  # before the key
    assert "code None (now" in subprocess.run(command, capture_output=True, text=True).stderr
    assert saved["job"]["hardware"] == device_name(torch.device("cpu"))  # the kernels a fine-tune's result depends on
    job.write_text(json.dumps({**saved, "job": {**saved["job"], "hardware": "cpu: other (AVX512)", "threads": 99}}))
    moved = subprocess.run(command, capture_output=True, text=True)  # another machine, or another --jobs: another job
    assert moved.returncode == 2 and "hardware 'cpu: other (AVX512)'" in moved.stderr and "threads 99" in moved.stderr


def test_latency_example_draws_one_curve_per_design_at_its_mean_over_seeds(tmp_path):
    import csv
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "t.csv").write_text(
        "scheme,split_point,seed,device_flops,payload_bits,test_accuracy,server_flops\n"
        "x,13,0,24000000000,8000,0.9,0\nx,13,1,48000000000,8000,0.7,0\ny,0,0,0,800000,0.91,100\n")
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, str(repo / "examples" / "latency.py"), "--results", str(tmp_path / "t.csv"), "--device", "24e9",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    rows = list(csv.DictReader(open(tmp_path / "latency-24e9.csv")))
    assert [c for c in rows[0] if c.startswith("x")] == ["x (80.0%)"]  # one curve, at the mean accuracy
    first = rows[0]  # 10 KB/s: (36e9 FLOPs / 24e9) s + 8,000 bits / 80,000 bit/s
    assert float(first["x (80.0%)"]) == pytest.approx(1.5 + 0.1, rel=1e-4)


def test_bottlenet_channels_example_measures_its_papers_compression(tmp_path):
    """r = 16 through AWGN (PSNR) and BEC: 64x fewer symbols than the float feature, 256x fewer bits on 8-bit BEC."""
    import csv
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, str(repo / "examples" / "bottlenet_channels.py"), "--dataset", "synthetic", "--splits", "3",
                    "--seeds", "1", "--budget", "3", "--out", str(tmp_path)], check=True, capture_output=True)
    rows = {r["channel"]: r for r in csv.DictReader(open(tmp_path / "bottlenet_channels.csv"))}
    assert set(rows) == {"awgn-psnr20", "bec-0.01"}
    assert all(float(r["symbol_reduction"]) == 64 and int(r["symbols"]) == 2 * 16 * 16 and r["epochs"] == "3" for r in rows.values())
    assert float(rows["bec-0.01"]["bit_compression"]) == 256
    for r in rows.values():
        assert float(r["accuracy_loss_points"]) == pytest.approx(100 * (float(r["backbone_accuracy"]) - float(r["test_accuracy"])))


def test_results_summary_table_holds_each_designs_mean_and_standard_error(tmp_path):
    """The RESULTS.md table from a per-seed CSV: accuracy 0.70 and 0.74 give 72.0 ± 2.0%; one seed has no ±."""
    import subprocess
    import sys
    from pathlib import Path

    csv_path = tmp_path / "t.csv"
    csv_path.write_text(
        "scheme,split_point,seed,device_flops,payload_bits,test_accuracy,server_flops\n"
        "server-png,0,0,0,18000,0.78,1\n"
        "ipdr,13,0,15000000,512,0.70,1\nipdr,13,1,17000000,512,0.74,1\n"
        "2-step,13,0,2500,900,0.75,1\n")
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(repo / "examples" / "results_summary.py"), "--results", str(csv_path), "--table"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    assert out[0] == "| scheme | split 13 |"
    assert "| IPDR | 72.0 ± 2.0%, 16 M, 512 bit |" in out
    assert "| 2-step | 75.0%, 2.5 k, 900 bit |" in out


def test_latency_example_prints_where_a_design_overtakes_on_device_and_png(tmp_path):
    """Hand case at 24e9 FLOP/s: on-device-only 10 ms; x takes 2 ms + 1,000 B / rate, so it overtakes on-device-only
    above 125 kB/s (first grid rate 10^5.1) and the 10,000-byte PNG upload below about 4.5 MB/s (last grid rate 10^6.65)."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "t.csv").write_text(
        "scheme,split_point,seed,device_flops,payload_bits,test_accuracy,server_flops\n"
        "x,13,0,48000000,8000,0.7,0\nserver-png,0,0,0,80000,0.8,240000000\n")
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(repo / "examples" / "latency.py"), "--results", str(tmp_path / "t.csv"), "--device", "24e9",
                          "--out", str(tmp_path)], check=True, capture_output=True, text=True).stdout
    assert f"x (70.0%): faster than on-device-only from {10 ** 5.1 / 1e3:,.0f} KB/s, than the PNG upload up to " \
           f"{10 ** 6.65 / 1e3:,.0f} KB/s" in out


def test_tradeoff_env_kwargs_are_checked_before_any_job(tmp_path):
    """--env-kwargs reach the proposed schemes' search only, and a bad one is one line, exit 2, before anything is written."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "tradeoff.py"

    def run(*args):
        return subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "out"), *args], capture_output=True, text=True)

    not_searched = run("--schemes", "server-png", "--env-kwargs", "calibrated=true")
    assert not_searched.returncode == 2 and "applies to the proposed schemes only" in not_searched.stderr
    typo = run("--schemes", "proposed-ddpg", "--splits", "13", "--env-kwargs", "calibratd=true")
    assert typo.returncode == 2 and "--env-kwargs calibratd: no such keyword" in typo.stderr
    no_fit = run("--schemes", "proposed-ddpg", "--splits", "3", "--env-kwargs", "calibrated=true")
    assert no_fit.returncode == 2 and "no fit for width 8, split 3" in no_fit.stderr
    assert not (tmp_path / "out").exists()

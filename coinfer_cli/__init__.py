"""The ``coinfer`` command: one parser, and one module per subcommand loaded only when run.

:mod:`coinfer_cli.main` builds the whole parser without importing torch, so
``coinfer --help`` is fast; each subcommand's implementation is the ``run(args)``
function of the module named in :data:`coinfer_cli.main.COMMANDS`.
"""

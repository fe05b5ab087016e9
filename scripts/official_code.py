"""Loading pieces of the official PyTorch code from a checkout without running its scripts:
shared by `interop_fixtures.py` and `official_step_bench.py` (run by hand, never at run time).
None of the official code is in this repository; it is read from the checkout given on the
command line."""
import argparse
import ast
import importlib
import sys

import torch.nn as nn


def _top_level(script_path, kind, name, namespace):
    """Defines the top-level `kind` node `name` of the script in `namespace`, alone."""
    with open(script_path) as f:
        tree = ast.parse(f.read())
    node = next(n for n in tree.body if isinstance(n, kind) and n.name == name)
    exec(compile(ast.Module(body=[node], type_ignores=[]), script_path, "exec"), namespace)
    return namespace[name]


def official_parser(script_path, function="get_args_parser"):
    """The official script's argparse parser, built from its source without running the script
    (its top-level imports pull in data pipelines that are not needed here)."""
    return _top_level(script_path, ast.FunctionDef, function, {"argparse": argparse})()


def official_args(script_path, argv, prog="official"):
    """The official script's arguments for `argv` (its defaults for everything else)."""
    return argparse.ArgumentParser(prog, parents=[official_parser(script_path)]).parse_args(argv)


def official_class(script_path, name):
    """A class defined at the top level of an official script, without running the script."""
    return _top_level(script_path, ast.ClassDef, name, {})


def import_from(checkout, module):
    """A module of the checkout (the checkout goes first on the import path)."""
    if checkout not in sys.path:
        sys.path.insert(0, checkout)
    return importlib.import_module(module)


class FixedTeacher(nn.Module):
    """Stands in for the teacher: returns the logits it was given."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits

"""The package's layers only point down (``.importlinter``) and no module imports itself back.

Both checks read every import, function-level ones included.
"""
import os
import subprocess

import grimp
from testlib import ROOT


def strongly_connected_components(graph: dict) -> list:
    """Tarjan's algorithm over ``{module: set of modules it imports}``; each component as a sorted list."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_scc_finds_a_cycle_and_leaves_a_chain_apart():
    comps = strongly_connected_components({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert sorted(comps) == [["a", "b", "c"], ["d"]]


def test_no_import_cycle_in_the_package():
    graph = grimp.build_graph("mindface_au")
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    cycles = [c for c in strongly_connected_components(imports) if len(c) > 1]
    assert cycles == []


def test_layers_contract_is_kept():
    res = subprocess.run(["lint-imports", "--no-cache"], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
    assert res.returncode == 0, res.stdout[-4000:]

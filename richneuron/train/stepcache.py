"""The compiled training step, kept across processes and called without Dynamo.

``torch.compile`` turns the trainer's step into one C++ function (Inductor's ``cpp_wrapper``),
reached through Dynamo's frame evaluation and AOTAutograd's runtime wrapper. A worker process
that trains a step pays, before its first step, for importing Dynamo and Inductor (about 2 s
here), Inductor's start-up checks (about 0.5 s) and tracing the step (about 0.4 s a shape), even
when Inductor's own cache holds the compiled code; and every step pays for the wrappers (about
0.1 ms, a tenth of a small chunk's step).

This module removes both, without changing a bit. On a step's first compiled call,
:func:`capture` watches the C++ function's arguments and results, maps each to the step's own
(which parameter, which Adam moment, the data), calls the function once more directly and
checks that it gives the same bits and leaves its arguments as they were. :func:`save` keeps the
compiled library with that map in a folder; :func:`load` gives a later process the direct call
(:class:`Direct`), which imports neither Dynamo nor Inductor and traces nothing. The kernels are
the very ones ``torch.compile`` built, so the arithmetic is the same: the fingerprint proves it.

What is kept is keyed by the step's key and by everything else that decides the compiled code
(:func:`environment`): the package's sources, torch's version and place, Python, the C++
compiler, Inductor's environment variables and the pinned arithmetic. A library that does not
load, an argument the function takes from elsewhere (a constant), a result it does not return
as it is, other bits: each leaves the step to ``torch.compile``, as before.

The folder is :func:`cache_dir`: ``RICHNEURON_STEP_CACHE``, or by default one beside Inductor's
own cache in the temporary directory; ``RICHNEURON_STEP_CACHE=off`` turns the cache off (steps
are then still called directly after their first call in a process). Deleting it is safe.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..arithmetic.determinism import arithmetic, compiler_version, source_digest
from ..paths import STEP_CACHE_ENV
from ..store.atomic import atomic_file

__all__ = ["Direct", "cache_dir", "capture", "environment", "load", "save"]

#: A step's arguments and results: tensors, and dicts of tensors (parameters, Adam moments).
Tree = Tensor | dict[str, Tensor]

#: The name Inductor gives the C++ function of a ``cpp_wrapper`` graph.
ENTRY = "inductor_entry_cpp"


def cache_dir() -> Path | None:
    """Where compiled steps are kept: ``RICHNEURON_STEP_CACHE``, else
    ``<tmp>/richneuron-steps-<user>`` (beside Inductor's ``<tmp>/torchinductor_<user>``);
    ``None`` when the variable is ``off``."""
    value = os.environ.get(STEP_CACHE_ENV, "")
    if value == "off":
        return None
    if value:
        return Path(value)
    try:
        user = re.sub(r"[^\w.-]", "_", getpass.getuser())
    except (KeyError, OSError):  # no user name in this container
        user = str(os.getuid())
    return Path(tempfile.gettempdir()) / f"richneuron-steps-{user}"


def _private(folder: Path) -> bool:
    """Whether ``folder`` (made if missing, for this user only) is this user's and writable by
    no one else: a library loaded from it runs as this process."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


@functools.cache
def _warn_once(message: str) -> None:
    warnings.warn(message, stacklevel=3)


@functools.cache
def environment() -> str:
    """A digest of everything besides a step's key that decides its compiled code (the
    package's constants, such as the pinned vector width, are in its sources' digest)."""
    digest = hashlib.sha256(source_digest().encode())
    inductor_env = sorted(  # Inductor's settings; where its caches are (it sets one) is none
        (k, v) for k, v in os.environ.items() if k.startswith("TORCHINDUCTOR") and "CACHE" not in k
    )
    parts = [
        torch.__version__, torch.__file__, sys.version, platform.machine(), compiler_version(),
        arithmetic(), inductor_env,
    ]
    digest.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _name(key: tuple) -> str:
    """The file name of ``key``'s map; its library's adds the environment (:func:`_library`)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


def _library(folder: Path, key: tuple) -> Path:
    return folder / f"{_name(key)}-{environment()[:16]}.so"


@dataclass
class Direct:
    """A compiled step called without Dynamo: its C++ function and how the step's arguments
    and results map onto the function's.

    ``inputs``: for each argument of the function, the step's argument it is (its position, and
    its key where that argument is a dict). ``outputs``: for each result of the step, the
    function's result it is (an index, or a dict of indices). ``layouts``: each argument's
    shape, strides and dtype as compiled; the first call of a loop checks them (Dynamo's guards
    would), later calls (:meth:`fast`) do not (as the trainer skips Dynamo's guards).
    """

    entry: Callable[[list], list]
    inputs: list[tuple[int, str | None]]
    outputs: list[int | dict[str, int]]
    layouts: list[tuple[list[int], list[int], str]]

    def accepts(self, args: Sequence[Tree]) -> bool:
        """Whether ``args`` have the shapes, strides and dtypes the function was compiled for."""
        flat = []
        for p, k in self.inputs:
            arg = args[p] if p < len(args) else None
            if k is not None:
                arg = arg.get(k) if isinstance(arg, dict) else None
            flat.append(arg)
        return all(
            isinstance(t, Tensor) and _layout(t) == tuple(layout)
            for t, layout in zip(flat, self.layouts, strict=True)
        )

    def __call__(self, *args: Tree) -> tuple:
        if not self.accepts(args):
            raise ValueError("the compiled step was called with other shapes than it was built for")
        return self.fast(*args)

    def fast(self, *args: Tree) -> tuple:
        aoti = torch._C._aoti
        handles = self.entry(aoti.unsafe_alloc_void_ptrs_from_tensors(self._flatten(args)))
        out = aoti.alloc_tensors_by_stealing_from_void_ptrs(handles)
        return tuple(
            out[spec] if isinstance(spec, int) else {k: out[i] for k, i in spec.items()}
            for spec in self.outputs
        )

    def _flatten(self, args: Sequence[Tree]) -> list[Tensor]:
        return [args[p] if k is None else args[p][k] for p, k in self.inputs]  # type: ignore[index]


def _layout(t: Tensor) -> tuple[list[int], list[int], str]:
    return (list(t.shape), list(t.stride()), str(t.dtype))


def _bits(t: Tensor) -> Tensor:
    """``t``'s bits as integers of its width, so that NaNs compare equal to themselves."""
    ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
    return t.view(ints[t.element_size()]) if t.dtype != torch.bool else t


def _same(a: object, b: object, strides: bool = True) -> bool:
    """The same structure, shapes, dtypes and bits, and (with ``strides``) strides."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        layout_a, layout_b = _layout(a), _layout(b)
        if not strides:
            layout_a, layout_b = layout_a[::2], layout_b[::2]
        return layout_a == layout_b and torch.equal(_bits(a), _bits(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k], strides) for k in a)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y, strides) for x, y in zip(a, b))
    return False


@dataclass
class _Seen:
    """What one compiled call passed to its C++ function and got back."""

    entry: Callable | None = None
    inputs: list[Tensor] | None = None
    outputs: list[Tensor] | None = None


@contextlib.contextmanager
def _watch(seen: _Seen):
    """Record the first C++ call of a ``cpp_wrapper`` graph: Inductor's generated wrapper turns
    its argument list into handles with ``torch._C._aoti.unsafe_alloc_void_ptrs_from_tensors``,
    calls the function ``f`` it closes over, and turns the results back with
    ``alloc_tensors_by_stealing_from_void_ptrs``; both are looked up at each call."""
    aoti = torch._C._aoti
    to_handles = aoti.unsafe_alloc_void_ptrs_from_tensors
    to_tensors = aoti.alloc_tensors_by_stealing_from_void_ptrs

    def watched_handles(tensors):
        if seen.inputs is None:
            seen.inputs = list(tensors)
            seen.entry = sys._getframe(1).f_locals.get("f")
        return to_handles(tensors)

    def watched_tensors(handles):
        out = to_tensors(handles)
        if seen.outputs is None:
            seen.outputs = list(out)
        return out

    aoti.unsafe_alloc_void_ptrs_from_tensors = watched_handles
    aoti.alloc_tensors_by_stealing_from_void_ptrs = watched_tensors
    try:
        yield
    finally:
        aoti.unsafe_alloc_void_ptrs_from_tensors = to_handles
        aoti.alloc_tensors_by_stealing_from_void_ptrs = to_tensors


def _leaves(args: Sequence[Tree]) -> list[Tensor]:
    """The tensors of ``args``, in order (a dict's in its order)."""
    return [t for arg in args for t in (arg.values() if isinstance(arg, dict) else [arg])]


def _map_inputs(seen: list[Tensor], args: Sequence[Tree]) -> list[tuple[int, str | None]] | None:
    where: dict[int, tuple[int, str | None]] = {}
    for p, arg in enumerate(args):
        for k, t in arg.items() if isinstance(arg, dict) else [(None, arg)]:
            where.setdefault(id(t), (p, k))
    mapped = [where.get(id(t)) for t in seen]
    return None if any(m is None for m in mapped) else mapped  # type: ignore[return-value]


def _map_outputs(seen: list[Tensor], result: object) -> list[int | dict[str, int]] | None:
    index = {id(t): i for i, t in enumerate(seen)}
    if not isinstance(result, tuple):
        return None
    outputs: list[int | dict[str, int]] = []
    for r in result:
        if isinstance(r, dict):
            if any(id(t) not in index for t in r.values()):
                return None
            outputs.append({k: index[id(t)] for k, t in r.items()})
        elif isinstance(r, Tensor) and id(r) in index:
            outputs.append(index[id(r)])
        else:
            return None
    return outputs


def capture(call: Callable[..., tuple], args: Sequence[Tree]) -> tuple[tuple, Direct | None]:
    """``call(*args)`` (a compiled step's first call), and the step as a :class:`Direct` call
    when its C++ function was seen, maps onto ``args`` and the result, gives the same bits when
    called directly and leaves ``args`` as they were; else ``None``."""
    before = [t.clone() for t in _leaves(args)]
    seen = _Seen()
    with _watch(seen):
        result = call(*args)
    if getattr(seen.entry, "__name__", None) != ENTRY or seen.inputs is None or not seen.outputs:
        return result, None
    inputs = _map_inputs(seen.inputs, args)
    outputs = _map_outputs(seen.outputs, result)
    if inputs is None or outputs is None:
        return result, None
    direct = Direct(seen.entry, inputs, outputs, [_layout(t) for t in seen.inputs])
    again = direct(*args)
    # (a copy may have other strides than its original: compare values)
    if not (_same(again, result) and _same(before, _leaves(args), strides=False)):
        return result, None
    return result, direct


def save(key: tuple, direct: Direct) -> None:
    """Keep ``direct``'s compiled library and map under ``key`` (both written atomically, the
    map last, so a reader that finds the map finds the library), in place of what was kept
    under ``key`` for another environment. Nothing is kept where the cache is off or cannot be
    written."""
    folder = cache_dir()
    library = getattr(getattr(direct.entry, "__self__", None), "__file__", None)
    if folder is None or library is None:
        return
    if not _private(folder):
        _warn_once(f"compiled steps are not kept in {folder}: it is not this user's, or others "
                   f"can write to it (set {STEP_CACHE_ENV} to a folder of your own)")
        return
    meta = {
        "key": repr(key),
        "environment": environment(),
        "inputs": direct.inputs,
        "outputs": direct.outputs,
        "layouts": direct.layouts,
    }
    library_path = _library(folder, key)
    try:
        with open(library, "rb") as src, atomic_file(library_path, binary=True) as dst:
            shutil.copyfileobj(src, dst)
        with atomic_file(folder / f"{_name(key)}.json") as f:
            json.dump(meta, f)
        for old in folder.glob(f"{_name(key)}-*.so"):  # the key's library of another
            if old != library_path:                   # environment: this map replaced it
                old.unlink(missing_ok=True)
    except OSError:
        return  # a read-only or full disk: the step works, it is just not kept


def load(key: tuple) -> Direct | None:
    """The step kept under ``key`` for this environment, or ``None`` (none kept, the cache off,
    or what is kept does not load)."""
    folder = cache_dir()
    name = _name(key)
    if folder is None or not (folder / f"{name}.json").is_file() or not _private(folder):
        return None
    try:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        if meta["key"] != repr(key) or meta["environment"] != environment():
            return None
        # What Inductor's loader sets before importing such a library (its module init reads it).
        os.environ["_TORCHINDUCTOR_PYOBJECT_TENSOR_DATA_PTR"] = str(
            torch._C._dynamo.guards._torchinductor_pyobject_tensor_data_ptr
        )
        library = _library(folder, key)
        spec = importlib.util.spec_from_file_location(
            f"richneuron_step_{library.stem.replace('-', '_')}.{ENTRY}", library
        )
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return Direct(
            getattr(module, ENTRY),
            [(p, k) for p, k in meta["inputs"]],
            [o if isinstance(o, int) else dict(o) for o in meta["outputs"]],
            [(list(s), list(st), d) for s, st, d in meta["layouts"]],
        )
    except Exception:  # none kept, or not readable or loadable here: compile instead
        return None

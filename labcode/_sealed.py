"""Sealed checks: the checker runs in the grader, the student's function in the box.

For the pieces of :data:`SEALED`, functions whose inputs and results are data, the
grader does not read the verdict a check cell prints in the student's kernel. It runs
the checker itself, in its own process, where no line of the submission runs; the
checker's argument is a :class:`RemoteFunction`, and each call of it travels to the
student's kernel and back:

- **to the kernel**, the arguments, pickled by the grader (the kernel may trust the
  grader);
- **back from the kernel**, only data (:func:`encode`): numbers, strings, arrays,
  tensors, and tuples, lists and dicts of them, in an ``.npz`` file read with
  ``allow_pickle=False``; anything else comes back as its type's name and ``repr``. What
  the call did to its arguments comes back too (arrays changed in place, items set in
  dicts and lists) and is done again to the grader's arguments, so a checker that
  looks for changed inputs still sees them.

Whatever the submission's code changes in its kernel (the checkers, labcode, IPython's
hooks, ``print``), it changes what its function returns, and nothing else: the
comparison with labcode's reference and the verdict happen in the grader. The kernel
side is :func:`serve`, which :mod:`labcode._gradebox` calls; the grader side is
:class:`RemoteFunction`, which :mod:`labcode.grade` gives the checker.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Callable

import numpy as np

SEALED = frozenset({
    "add_bias", "split_data", "one_hot", "fc_forward", "fc_backward", "sigmoid_forward",
    "sigmoid_backward", "mse_loss", "gradient_step", "forward_pass", "backward_pass",
    "train_network", "accuracy", "compare_values",
})
"""The pieces whose checks the grader runs itself: functions of data, returning data."""

MAX_REPLY = 256 * 2**20
"""The most bytes one reply from the kernel may hold, its arrays unpacked included."""

MAX_DEPTH = 12
"""How deep a reply's tuples, lists and dicts may nest."""

MAX_ITEMS = 100_000
"""How many values (containers and leaves) one reply may hold."""

MAX_TEXT = 2000
"""The longest string or ``repr`` a reply keeps; longer ones are cut."""

_ARRAY_KINDS = "biufcSU"


class ReplyError(ValueError):
    """A reply from the kernel that is not what :func:`serve` writes."""


# --- the kernel's side ---------------------------------------------------------------------------


def _known(args: object) -> dict[int, list]:
    """The path of every array, dict and list inside the arguments, by ``id``."""
    found: dict[int, list] = {}

    def walk(value: object, path: list, depth: int) -> None:
        if depth > MAX_DEPTH or id(value) in found:
            return
        if isinstance(value, (np.ndarray, dict, list)):
            found[id(value)] = path
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, key], depth + 1)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, [*path, i], depth + 1)

    walk(args, [], 0)
    return found


def encode(value: object, arrays: list[np.ndarray], known: dict[int, list] | None = None) -> dict:
    """``value`` as JSON-ready data, its arrays appended to ``arrays``.

    An array, dict or list that is one of the call's arguments (``known``) carries the
    argument's path, so the grader can hand back its own object, changed as the kernel's
    was.
    """
    known = known or {}
    count = [0]

    def enc(x: object, depth: int) -> dict:
        count[0] += 1
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
            raise ReplyError(f"more than {MAX_ITEMS} values or {MAX_DEPTH} levels")
        was = known.get(id(x)) if isinstance(x, (np.ndarray, dict, list)) else None
        if x is None or type(x) in (bool, str):
            return {"v": _cut(x) if type(x) is str else x}
        if isinstance(x, np.generic) and x.dtype.kind in _ARRAY_KINDS:
            arrays.append(np.asarray(x))
            return {"scalar": len(arrays) - 1}
        if type(x) is int:
            return {"int": str(x)}
        if type(x) is float:
            return {"float": repr(x)}
        if type(x) is complex:
            return {"complex": [repr(x.real), repr(x.imag)]}
        if type(x) is np.ndarray and x.dtype.kind in _ARRAY_KINDS:
            arrays.append(x)
            return {"array": len(arrays) - 1, "was": was}
        torch = _torch()
        if torch is not None and type(x) in (torch.Tensor, torch.nn.Parameter):
            data = x.detach().cpu()
            if data.dtype in (torch.bfloat16,):
                data = data.float()
            if data.dtype.is_complex or data.dtype.is_floating_point or data.dtype in (
                    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
                arrays.append(data.numpy())
                return {"tensor": len(arrays) - 1, "dtype": str(x.dtype).removeprefix("torch."),
                        "requires_grad": bool(x.requires_grad)}
        if type(x) in (tuple, list):
            return {type(x).__name__: [enc(item, depth + 1) for item in x], "was": was}
        if type(x) is dict:
            return {"dict": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()],
                    "was": was}
        return {"other": _cut(type(x).__name__), "repr": _cut(_repr(x))}

    return enc(value, 0)


def _torch():
    import sys

    return sys.modules.get("torch")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT // 2] + " ... " + text[-MAX_TEXT // 2:]


def _repr(x: object) -> str:
    try:
        return repr(x)
    except Exception as exc:  # noqa: BLE001 - a value whose repr raises
        return f"<{type(x).__name__} whose repr raised {type(exc).__name__}>"


def serve(find: Callable[[], object], piece: str, request: str, reply: str) -> None:
    """Call the student's function, ``find()``, on the arguments in ``request``; write the reply.

    Runs in the student's kernel. The reply (an ``.npz`` file at ``reply``) holds the
    result or the exception, the warnings, what the call left in its arguments, and
    whether the function is labcode's own reference.
    """
    import warnings

    from .checks import framework

    with open(request, "rb") as fh:
        args, kwargs = pickle.load(fh)
    root = [list(args), kwargs]  # kept alive: the ids of what it holds must stay theirs
    known = _known(root)
    meta: dict = {"raised": None, "warnings": [], "reference": False}
    result = None
    with warnings.catch_warnings(record=True) as caught, framework._time_limit():
        warnings.simplefilter("always")
        try:
            func = find()
            try:
                meta["reference"] = func is framework._REFERENCES[piece].load()
            except Exception:  # noqa: BLE001 - only a note
                pass
            result = func(*args, **kwargs)
        except framework._TimedOut:
            meta["raised"] = {"type": "_TimedOut"}
        except BaseException as exc:  # noqa: BLE001 - the student's code failed: reported
            meta["raised"] = {
                "type": _cut(type(exc).__name__), "message": framework._text(exc),
                "not_implemented": isinstance(exc, NotImplementedError),
                "where": framework._where(exc)}
        for w in caught:
            meta["warnings"].append([_cut(w.category.__name__),
                                     _cut(str(w.message).splitlines()[0] if str(w.message) else "")])
    arrays: list[np.ndarray] = []
    try:
        meta["after"] = encode(root, arrays, known)
        meta["value"] = encode(result, arrays, known) if meta["raised"] is None else None
    except Exception as exc:  # noqa: BLE001 - a result that cannot be sent: said so
        arrays = []
        meta.update(after=None, value=None, raised={
            "type": "ReplyError", "message": f"what your code returned could not be sent to "
                                             f"the grader: {framework._text(exc)}",
            "not_implemented": False, "where": ""})
    buffer = {f"a{i}": a for i, a in enumerate(arrays)}
    buffer["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(reply, "wb") as fh:
        np.savez(fh, **buffer)


# --- the grader's side ---------------------------------------------------------------------------


class _Other:
    """A value of a type that does not travel: shows as its ``repr`` in the kernel."""

    def __init__(self, text: str):
        self._text = text

    def __repr__(self) -> str:
        return self._text


def _read(data: bytes) -> tuple[dict, dict[int, np.ndarray]]:
    """The reply's metadata and arrays; :class:`ReplyError` for anything else."""
    if len(data) > MAX_REPLY:
        raise ReplyError(f"a reply of {len(data)} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_REPLY:
                raise ReplyError("a reply that unpacks to too many bytes")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            files = {name: npz[name] for name in npz.files}
        meta = json.loads(files.pop("meta").tobytes().decode())
        arrays = {int(name[1:]): a for name, a in files.items() if name[:1] == "a"}
    except ReplyError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed reply
        raise ReplyError(f"an unreadable reply: {type(exc).__name__}") from None
    if not isinstance(meta, dict):
        raise ReplyError("a reply without its metadata")
    return meta, arrays


def _at(root: object, path: object) -> object:
    if not isinstance(path, list):
        raise ReplyError("a path that is not a list")
    for key in path:
        try:
            root = root[key]
        except (KeyError, IndexError, TypeError):
            raise ReplyError("a path that is not in the arguments") from None
    return root


def decode(tree: object, arrays: dict[int, np.ndarray], args: object) -> object:
    """The value :func:`encode` wrote; an argument named by its path is the grader's own
    object, given what the kernel's became."""
    count = [0]

    def dec(t: object, depth: int) -> object:
        count[0] += 1
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH or not isinstance(t, dict):
            raise ReplyError("a value that is not what the kernel writes")
        if "v" in t:
            if t["v"] is not None and type(t["v"]) not in (bool, str):
                raise ReplyError("a plain value of another type")
            return t["v"]
        if "int" in t:
            return int(str(t["int"]))
        if "float" in t:
            return float(str(t["float"]))
        if "complex" in t:
            return complex(float(str(t["complex"][0])), float(str(t["complex"][1])))
        if "scalar" in t:
            return _array(arrays, t["scalar"])[()]
        if "array" in t:
            new = _array(arrays, t["array"])
            if t.get("was") is None:
                return new
            mine = _at(args, t["was"])
            if isinstance(mine, np.ndarray) and mine.shape == new.shape and mine.dtype == new.dtype:
                if mine.flags.writeable and not np.array_equal(mine, new, equal_nan=True):
                    np.copyto(mine, new)
                return mine
            return new
        if "tensor" in t:
            import torch

            tensor = torch.from_numpy(_array(arrays, t["tensor"]).copy())
            dtype = getattr(torch, str(t.get("dtype")), None)
            if isinstance(dtype, torch.dtype):
                tensor = tensor.to(dtype)
            return tensor.requires_grad_(bool(t.get("requires_grad"))) if (
                tensor.is_floating_point() or tensor.is_complex()) else tensor
        if "tuple" in t or "list" in t:
            items = [dec(item, depth + 1) for item in _items(t.get("tuple", t.get("list")))]
            if "tuple" in t:
                return tuple(items)
            if t.get("was") is not None:
                mine = _at(args, t["was"])
                if isinstance(mine, list):
                    mine[:] = items
                    return mine
            return items
        if "dict" in t:
            pairs = [(dec(k, depth + 1), dec(v, depth + 1)) for k, v in
                     (_pair(p) for p in _items(t["dict"]))]
            try:
                new = dict(pairs)
            except TypeError:
                raise ReplyError("a dict key that cannot be a key") from None
            if t.get("was") is not None:
                mine = _at(args, t["was"])
                if isinstance(mine, dict):
                    mine.clear()
                    mine.update(new)
                    return mine
            return new
        if "other" in t:
            kind = type(_cut(str(t["other"])) or "object", (_Other,), {})
            return kind(_cut(str(t.get("repr", ""))))
        raise ReplyError("a value of no known kind")

    return dec(tree, 0)


def _items(value: object) -> list:
    if not isinstance(value, list):
        raise ReplyError("items that are not a list")
    return value


def _pair(value: object) -> tuple:
    if not isinstance(value, list) or len(value) != 2:
        raise ReplyError("a dict item that is not a pair")
    return value[0], value[1]


def _array(arrays: dict[int, np.ndarray], index: object) -> np.ndarray:
    if type(index) is not int or index not in arrays:
        raise ReplyError("an array that is not in the reply")
    return arrays[index]


class KernelGone(KeyboardInterrupt):
    """The box ended, or ran out of time, during a call: the check is not reached.

    A ``KeyboardInterrupt`` so that the checker lets it through instead of turning it into
    a verdict on the student's code.
    """


def _raised(info: object) -> BaseException:
    """The exception the student's code raised in the kernel, rebuilt by name."""
    from .checks import framework

    if not isinstance(info, dict):
        raise ReplyError("an exception that is not described")
    if info.get("type") == "_TimedOut":
        return framework._TimedOut()
    if info.get("not_implemented"):
        return NotImplementedError(_cut(str(info.get("message", ""))))
    name = _cut(str(info.get("type", "Exception")))
    kind = type(name if name.isidentifier() else "Exception", (Exception,), {})
    error = kind(_cut(str(info.get("message", ""))))
    error._labcode_where = _cut(str(info.get("where", "")))
    return error


class RemoteFunction:
    """The student's function as the grader's checker sees it: each call runs in the kernel.

    Parameters
    ----------
    piece : str
        The piece, for example ``"fc_forward"``.
    send : callable
        ``send(request_bytes) -> reply_bytes``: runs one call in the kernel; raises
        :class:`KernelGone` when the box ended.
    """

    def __init__(self, piece: str, send: Callable[[bytes], bytes]):
        self.piece = piece
        self._send = send
        self.reference = False
        self.__name__ = piece

    def __call__(self, *args: object, **kwargs: object) -> object:
        import warnings

        data = self._send(pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL))
        meta, arrays = _read(data)
        self.reference = self.reference or meta.get("reference") is True
        for category, message in _items(meta.get("warnings", [])):
            name = _cut(str(category))
            kind = type(name if name.isidentifier() else "Warning", (UserWarning,), {})
            warnings.warn(_cut(str(message)), kind, stacklevel=2)
        root = [list(args), kwargs]
        if meta.get("after") is not None:
            decode(meta["after"], arrays, root)
        if meta.get("raised") is not None:
            raise _raised(meta["raised"])
        return decode(meta.get("value"), arrays, root)

    def __repr__(self) -> str:
        return f"<the student's {self.piece}, run in its box>"

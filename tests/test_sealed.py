"""Sealed checks: the checker in the grader, the student's function across a narrow channel.

The box is replaced here by a loopback that runs :func:`labcode._sealed.serve` in this
process, so that every checker of :data:`labcode._sealed.SEALED` can be compared, verdict
for verdict, with the same checker run on the function itself.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from labcode import checks
from labcode._sealed import SEALED, RemoteFunction, ReplyError, _read, decode, encode, serve
from labcode.checks.framework import _CHECKER_NAMES, _REFERENCES


def loopback(func, piece, tmp_path):
    """A RemoteFunction whose calls run ``func`` through serve() and back, in this process."""

    def send(request: bytes) -> bytes:
        (tmp_path / "call.pkl").write_bytes(request)
        serve(lambda: func, piece, str(tmp_path / "call.pkl"), str(tmp_path / "reply.npz"))
        return (tmp_path / "reply.npz").read_bytes()

    return RemoteFunction(piece, send)


def checker(piece):
    return getattr(checks, f"check_{_CHECKER_NAMES.get(piece, piece)}")


def wrong(piece):
    """A wrong answer for each piece: the reference, its first array result moved by one."""
    reference = _REFERENCES[piece].load()

    def shifted(*args, **kwargs):
        out = reference(*args, **kwargs)
        if isinstance(out, np.ndarray):
            return out + 1
        if isinstance(out, tuple) and isinstance(out[0], np.ndarray):
            return (out[0] + 1, *out[1:])
        if isinstance(out, tuple) and isinstance(out[0], dict):
            return ({k: v + 1 for k, v in out[0].items()}, *out[1:])
        if isinstance(out, dict):
            return {k: (v[0] + 1, v[1]) if isinstance(v, tuple) else v + 1 for k, v in out.items()}
        if isinstance(out, list):
            return [v + 0.01 for v in out]
        return out + 0.5

    return shifted


def starter(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("piece", sorted(SEALED))
def test_a_sealed_check_gives_the_verdict_of_the_check_in_the_kernel(piece, tmp_path):
    check = checker(piece)
    reference = _REFERENCES[piece].load()
    statuses = []
    for func in (reference, wrong(piece), starter):
        here = check(func, verbose=False)
        remote = loopback(func, piece, tmp_path)
        there = check(remote, verbose=False)
        assert there.status == here.status, (func, there.message)
        if func is not reference:  # the reference's message names it; the remote one says so
            assert there.message == here.message
        assert remote.reference == (func is reference)
        statuses.append(there.status)
    assert statuses[0] == "passed" and statuses[1] in ("failed", "error")
    assert statuses[2] == "not implemented"


def test_what_a_call_does_to_its_arguments_is_done_to_the_graders(tmp_path):
    def mutates(X, params):
        X *= 2
        params["W2"] = np.zeros(1)
        del params["W1"]
        return X

    X, params = np.ones(3), {"W1": np.ones(2)}
    out = loopback(mutates, "fc_forward", tmp_path)(X, params)
    assert out is X and np.array_equal(X, [2, 2, 2])
    assert list(params) == ["W2"] and np.array_equal(params["W2"], [0])


def test_the_students_exceptions_and_warnings_come_back_by_name(tmp_path):
    def raises(X):
        np.log(-X)
        raise KeyError("no such layer")

    with pytest.warns(UserWarning, match="invalid value") as caught:
        with pytest.raises(Exception, match="no such layer") as info:
            loopback(raises, "add_bias", tmp_path)(np.ones(2))
    assert type(info.value).__name__ == "KeyError" and not isinstance(info.value, KeyError)
    assert type(caught[0].message).__name__ == "RuntimeWarning"
    assert "raise KeyError" in info.value._labcode_where
    with pytest.raises(NotImplementedError):
        loopback(starter, "add_bias", tmp_path)(np.ones(2))


def test_anything_but_data_comes_back_as_its_name_and_repr(tmp_path):
    class Weights:
        def __repr__(self):
            return "Weights(3)"

    class Broken:
        def __repr__(self):
            raise RuntimeError

    out = loopback(lambda: (Weights(), Broken(), np.array([object()]), {1: "a"}), "add_bias",
                   tmp_path)()
    assert [type(o).__name__ for o in out[:3]] == ["Weights", "Broken", "ndarray"]
    assert repr(out[0]) == "Weights(3)" and "whose repr raised" in repr(out[1])
    assert out[3] == {1: "a"}


def test_a_result_too_deep_or_too_big_is_an_error_not_a_crash(tmp_path):
    deep: list = []
    for _ in range(50):
        deep = [deep]
    with pytest.raises(Exception, match="could not be sent"):
        loopback(lambda: deep, "add_bias", tmp_path)()


def _npz(meta, **arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("reply", [
    b"not a zip file",
    _npz(["a list, not a dict"]),
    _npz({"value": {"array": 0}}, a0=np.array([object()], dtype=object)),
    _npz({"value": {"array": 7}}),
    _npz({"value": {"array": 0, "was": [5, "x"]}}, a0=np.ones(2)),
    _npz({"value": {"v": [1, 2]}}),
    _npz({"value": {"dict": [[{"list": []}, {"v": 1}]]}}),
    _npz({"value": {"nothing": 1}}),
])
def test_a_reply_the_kernel_forged_is_refused(reply):
    with pytest.raises(ReplyError):
        meta, arrays = _read(reply)
        decode(meta.get("value"), arrays, [[np.ones(2)], {}])


def test_a_reply_that_unpacks_to_too_much_is_refused(monkeypatch):
    import labcode._sealed as sealed

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a0.npy", b"\0" * 2_000_000)
    monkeypatch.setattr(sealed, "MAX_REPLY", 1_000_000)
    assert len(buffer.getvalue()) < 1_000_000
    with pytest.raises(ReplyError, match="unpacks"):
        _read(buffer.getvalue())


def test_encode_and_decode_keep_every_kind_of_data():
    import torch

    value = (None, True, "x", 3, 2**70, 1.5, float("nan"), 1 + 2j, np.float32(2.5),
             np.arange(3, dtype=np.int16), torch.ones(2, requires_grad=True),
             [1, {"k": (2,)}])
    arrays: list = []
    tree = json.loads(json.dumps(encode(value, arrays)))
    back = decode(tree, dict(enumerate(arrays)), [])
    assert back[:6] == value[:6] and np.isnan(back[6]) and back[7] == value[7]
    assert type(back[8]) is np.float32 and back[9].dtype == np.int16
    assert back[10].requires_grad and back[11] == [1, {"k": (2,)}]

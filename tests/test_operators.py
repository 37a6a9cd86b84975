"""Stevens operators against Hutchings' closed forms, hermiticity, tracelessness, orthogonality."""
import numpy as np
import pytest

import ligandml
from ligandml.operators import j_plus

J_VALUES = [4, 9 / 2, 15 / 2]


def _basics(J):
    jp = j_plus(J)
    jm = jp.T
    n = jp.shape[0]
    jz = np.diag(J - np.arange(n))
    return jp, jm, jz, np.eye(n), J * (J + 1)


def _mp(a, p):
    return np.linalg.matrix_power(a, p)


def _sym(a, b):
    """(a b + b a) / 4, the symmetrisation of Hutchings' tables."""
    return (a @ b + b @ a) / 4


def hutchings_closed_forms(J):
    jp, jm, jz, one, X = _basics(J)
    c = lambda q: _mp(jp, q) + _mp(jm, q)  # noqa: E731
    s = lambda q: (_mp(jp, q) - _mp(jm, q)) / 1j  # noqa: E731
    return {
        (2, 0): 3 * _mp(jz, 2) - X * one,
        (2, 2): c(2) / 2,
        (2, -2): s(2) / 2,
        (2, 1): _sym(jz, c(1)),
        (4, 0): 35 * _mp(jz, 4) - (30 * X - 25) * _mp(jz, 2) + (3 * X**2 - 6 * X) * one,
        (4, 2): _sym(7 * _mp(jz, 2) - (X + 5) * one, c(2)),
        (4, 3): _sym(jz, c(3)),
        (4, -3): _sym(jz, s(3)),
        (4, 4): c(4) / 2,
        (6, 0): (231 * _mp(jz, 6) - (315 * X - 735) * _mp(jz, 4)
                 + (105 * X**2 - 525 * X + 294) * _mp(jz, 2) + (-5 * X**3 + 40 * X**2 - 60 * X) * one),
        (6, 3): _sym(11 * _mp(jz, 3) - (3 * X + 59) * jz, c(3)),
        (6, -3): _sym(11 * _mp(jz, 3) - (3 * X + 59) * jz, s(3)),
        (6, 6): c(6) / 2,
        (6, -6): s(6) / 2,
    }


@pytest.mark.parametrize("J", J_VALUES)
def test_closed_forms(J):
    for (k, q), expected in hutchings_closed_forms(J).items():
        got = ligandml.stevens_operator(J, k, q)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, atol=1e-11 * scale, err_msg=f"O_{k}^{q}, J={J}")


def test_spin_matrices_are_rank_one_operators():
    jx, jy, jz = ligandml.spin_matrices(15 / 2)
    for (k, q), op in {(1, 1): jx, (1, -1): jy, (1, 0): jz}.items():
        np.testing.assert_allclose(ligandml.stevens_operator(15 / 2, k, q), op, atol=1e-13)
    np.testing.assert_allclose(jx @ jy - jy @ jx, 1j * jz, atol=1e-12)


@pytest.mark.parametrize("J", [1 / 2, 1, 5 / 2, 4, 15 / 2, 8])
def test_every_operator_is_hermitian_traceless_and_orthogonal(J):
    ops = {(k, q): ligandml.stevens_operator(J, k, q) for k in range(1, 7) for q in range(-k, k + 1)}
    keys = [key for key, op in ops.items() if np.abs(op).max() > 0]
    for key in ops:
        op = ops[key]
        np.testing.assert_allclose(op, op.conj().T, atol=1e-10 * max(1, np.abs(op).max()))
        assert abs(np.trace(op)) < 1e-9 * max(1, np.abs(op).max())
        if 2 * J < key[0]:  # an operator equivalent of rank k vanishes for 2J < k
            assert np.abs(op).max() < 1e-9
    gram = np.array([[np.trace(ops[a] @ ops[b]).real for b in keys] for a in keys])
    norms = np.sqrt(np.diag(gram))
    assert np.abs(gram / np.outer(norms, norms) - np.eye(len(keys))).max() < 1e-10


def test_operator_matrices_are_read_only_cache_safe():
    op = ligandml.stevens_operator(15 / 2, 2, 0)
    op[0, 0] = 1e9
    assert ligandml.stevens_operator(15 / 2, 2, 0)[0, 0] == pytest.approx(3 * 56.25 - 63.75)


@pytest.mark.parametrize("J, k, q", [(15 / 2, 7, 0), (15 / 2, 0, 0), (15 / 2, 2, 3), (15 / 2, 4, -5),
                                     (0.3, 2, 0), (-1, 2, 0), (0, 2, 0), (15 / 2, 2.0, 0)])
def test_invalid_arguments_raise(J, k, q):
    with pytest.raises(ValueError):
        ligandml.stevens_operator(J, k, q)

"""Plausibility of a measured curve before any slow step, and of a fit after it.

`check_plausible(T, values, ion, quantity=, ions_per_formula=)` compares the curve with what the
claimed ion can give and names the likely cause when it cannot:

- negative chi: a paramagnetic Ln3+ has chi > 0 at every temperature;
- shape: chi falls as ~1/T at high temperature while chiT is nearly flat, so a curve whose
  high-temperature log-log slope is flat but called "chi" is chiT, and vice versa;
- scale: the high-temperature chiT per ion (median over T >= T_max/1.5, with T_max >= 100 K)
  must lie within [0.85, 1.15] x the free-ion Curie constant C = 0.12505 gJ^2 J(J+1) emu K/mol;
  the crystal field lowers chiT at 300 K by a few percent, a chi_dia error of 0.002 emu/mol moves
  it by 0.6 emu K/mol at 300 K and a mass error by its own percent, which this band holds. Outside
  it the ratio r = chiT / C names the cause: 4 pi 1e-6 (SI m^3/mol, chi_SI = 4 pi 1e-6 chi_cgs),
  an integer k >= 2 (ions_per_formula missing: k ions per formula unit) or 1/k (too many),
  or the Curie constant of another Ln3+ (Dy3+ data called Er3+). With only T < 100 K measured,
  the crystal field can move chiT further, so the band widens to [0.4, 1.3] and the ion is
  not identified.

Sm3+ and Eu3+ have excited J multiplets within a few hundred K: their high-temperature chiT is
not the free-ion value of the ground multiplet, so only sign and shape are checked for them.

`misfit(T, observed, fitted, sigma=...)` returns the reduced chi^2 of a best fit and the
temperatures where it misses most: "the model does not describe this curve".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import checks
from .constants import curie_constant
from .ions import LANTHANIDES, Ion, ion as make_ion

#: chiT(high T) / C of the claimed ion accepted when T_max >= HIGH_T_K
RATIO_BAND = (0.85, 1.15)
#: and when only lower temperatures were measured
RATIO_BAND_LOW_T = (0.4, 1.3)
#: temperature [K] above which the free-ion Curie constant is a sharp check
HIGH_T_K = 100.0
#: SI over cgs molar susceptibility: chi [m^3/mol] = 4 pi 1e-6 chi [cm^3/mol]
SI_PER_CGS = 4e-6 * np.pi
#: a hypothesis explains a ratio when it matches within this factor
MATCH_FACTOR = 1.25
#: ions whose high-temperature chiT is not the ground-multiplet Curie constant
_NO_CURIE_CHECK = ("Sm3+", "Eu3+")


class ImplausibleCurveError(ValueError):
    """A curve far outside what the claimed ion can give; the message is one line naming the
    likely cause. `verdict` holds the PlausibilityVerdict."""

    def __init__(self, verdict: "PlausibilityVerdict"):
        super().__init__(verdict.message)
        self.verdict = verdict


@dataclass(frozen=True)
class PlausibilityVerdict:
    """ok: the curve is within reach of the ion; cause: None or one of "negative",
    "chiT_as_chi", "chi_as_chiT", "si_units", "ions_per_formula", "other_ion", "scale";
    message: one line; ratio: high-T chiT per ion / free-ion Curie constant; chiT_high
    [emu K/mol per ion] at T_high [K]; curie [emu K/mol]; suggestion: what to change."""

    ok: bool
    cause: str | None
    message: str
    ratio: float
    chiT_high: float
    T_high: float
    curie: float
    suggestion: dict = field(default_factory=dict)


def plausibility(T, values, ion="Er3+", *, quantity: str = "chi",
                 ions_per_formula: float = 1.0) -> PlausibilityVerdict:
    """Verdict on a curve: T [K]; values chi [emu/mol per formula unit] or chiT [emu K/mol]
    (quantity), divided by ions_per_formula here; ion: name ("Er3+") or an Ion. Never raises
    for an implausible curve (see check_plausible); raises ValueError for malformed input."""
    the_ion = ion if isinstance(ion, Ion) else make_ion(ion)
    T = checks.temperatures(T)
    y = checks.finite_array(values, quantity)
    if y.shape != T.shape:
        raise ValueError(f"{quantity} must have one value per temperature ({T.size}), got {y.shape}")
    if quantity not in ("chi", "chiT"):
        raise ValueError(f"quantity must be 'chi' or 'chiT', got {quantity!r}")
    ions = float(ions_per_formula)
    if not np.isfinite(ions) or ions <= 0:
        raise ValueError(f"ions_per_formula must be > 0, got {ions_per_formula!r}")
    C = curie_constant(the_ion.gJ, the_ion.J)
    name = the_ion.name
    chiT = (y if quantity == "chiT" else y * T) / ions
    high = T >= T.max() / 1.5
    T_high = float(np.median(T[high]))
    chiT_high = float(np.median(chiT[high]))
    ratio = chiT_high / C if C > 0 else np.nan

    def verdict(cause, message, **suggestion):
        return PlausibilityVerdict(ok=cause is None, cause=cause, message=message, ratio=ratio,
                                   chiT_high=chiT_high, T_high=T_high, curie=C,
                                   suggestion=suggestion)

    n_neg = int((y < 0).sum())
    if n_neg > y.size // 2 or chiT_high < 0:
        return verdict("negative", f"{quantity} is negative at {n_neg} of {y.size} temperatures "
                       f"(from {T[y < 0].min():.3g} K; median {np.median(y):.3g}); a paramagnetic "
                       f"{name} has chi > 0: is the "
                       "diamagnetic or holder correction over-subtracted, or the sign flipped?")
    slope = _high_T_slope(T, y)
    if slope is not None:
        looks_like = "chiT" if slope > -0.5 else "chi"
        if looks_like != quantity:
            cause = "chiT_as_chi" if quantity == "chi" else "chi_as_chiT"
            return verdict(cause, f"the curve called {quantity} behaves like {looks_like} "
                           f"(log-log slope {slope:.2f} above {T.max() / 3:.0f} K; chi falls as "
                           f"1/T, chiT is flat): pass quantity='{looks_like}' "
                           f"(CLI --quantity {looks_like})", quantity=looks_like)
    if name in _NO_CURIE_CHECK or not C > 0:
        return verdict(None, f"{name}: sign and shape checked; no free-ion Curie check "
                       "(excited J multiplets)")
    sharp = T.max() >= HIGH_T_K
    lo, hi = RATIO_BAND if sharp else RATIO_BAND_LOW_T
    where = (f"chiT = {chiT_high:.4g} emu K/mol per ion at {T_high:.0f} K is {ratio:.3g} x the "
             f"free-ion Curie constant of {name} ({C:.4g})")
    if lo <= ratio <= hi:
        return verdict(None, f"plausible for {name}: {where}")
    return _diagnose(verdict, ratio, chiT_high, ions, name, where, sharp)


def check_plausible(T, values, ion="Er3+", *, quantity: str = "chi",
                    ions_per_formula: float = 1.0, force: bool = False) -> PlausibilityVerdict:
    """`plausibility`, raising ImplausibleCurveError (a ValueError, one line) unless the curve
    is plausible. force=True (CLI --force) returns the verdict instead, for a user who knows."""
    v = plausibility(T, values, ion, quantity=quantity, ions_per_formula=ions_per_formula)
    if not v.ok and not force:
        raise ImplausibleCurveError(v)
    return v


def _diagnose(verdict, ratio, chiT_high, ions, name, where, sharp):
    def near(expected):
        return expected > 0 and abs(np.log(ratio / expected)) < np.log(MATCH_FACTOR)

    if near(SI_PER_CGS):
        return verdict("si_units", f"{where}: these look like SI units (m^3/mol is 4 pi 1e-6 x "
                       "emu/mol); divide chi by 4 pi 1e-6 = 1.2566e-5", scale=1 / SI_PER_CGS)
    for k in range(2, 9):
        if near(k):
            n = ions * k
            return verdict("ions_per_formula", f"{where}: about {k}x, as if each formula unit held "
                           f"{n:g} {name} ions; pass ions_per_formula={n:g} "
                           f"(CLI --ions-per-formula {n:g})", ions_per_formula=n)
        if near(1.0 / k) and ions / k >= 1 - 1e-9:
            n = ions / k
            return verdict("ions_per_formula", f"{where}: about 1/{k}, as if ions_per_formula "
                           f"were {k}x too large; try ions_per_formula={n:g}",
                           ions_per_formula=n)
    if sharp:
        others = _matching_ions(chiT_high, exclude=name)
        if others:
            listed = " or ".join(f"{o} (C = {c:.4g})" for o, c in others)
            return verdict("other_ion", f"{where}: this looks like {listed}, not {name}; check "
                           "the ion", ion=[o for o, _ in others])
    return verdict("scale", f"{where}: far outside {RATIO_BAND if sharp else RATIO_BAND_LOW_T}; "
                   "check the units (emu/mol, not emu/g or SI), the molar mass, the sample mass "
                   "and ions_per_formula")


def _matching_ions(chiT_high: float, exclude: str) -> list[tuple[str, float]]:
    lo, hi = RATIO_BAND
    out = []
    for el in LANTHANIDES:
        name = f"{el}3+"
        if name == exclude or name in _NO_CURIE_CHECK:
            continue
        other = make_ion(name)
        c = curie_constant(other.gJ, other.J)
        if lo <= chiT_high / c <= hi:
            out.append((name, c))
    return out


def _high_T_slope(T, y) -> float | None:
    """d log|y| / d log T over T >= T_max/3, or None when that range is too short to tell."""
    sel = T >= T.max() / 3
    if T.max() < 50.0 or sel.sum() < 4 or T[sel].max() / T[sel].min() < 2 or np.any(y[sel] <= 0):
        return None
    return float(np.polyfit(np.log(T[sel]), np.log(y[sel]), 1)[0])


@dataclass(frozen=True)
class Misfit:
    """Reduced chi^2 of a fit (chi2_red over dof degrees of freedom), the worst temperatures
    [K] with their normalised residuals (observed - fitted)/sigma, whether the model describes
    the curve (chi2_red below 1 + 3 sqrt(2/dof), the 3-sigma edge of the chi^2 distribution),
    and a one-line message."""

    chi2_red: float
    dof: int
    worst_T: tuple
    worst_residuals: tuple
    describes: bool
    message: str


def misfit(T, observed, fitted, *, sigma=None, noise_rel=None, n_params: int = 0,
           n_worst: int = 3) -> Misfit:
    """Reduced chi^2 of `fitted` against `observed` (same units, e.g. emu/mol) on T [K].

    The noise is sigma (absolute, scalar or per point, same units as the curve) or noise_rel
    (relative to |observed|); n_params fitted parameters are subtracted from the degrees of
    freedom. The worst n_worst temperatures are named in the message.
    """
    T = checks.temperatures(T)
    obs = checks.finite_array(observed, "observed")
    fit = checks.finite_array(fitted, "fitted")
    if obs.shape != T.shape or fit.shape != T.shape:
        raise ValueError(f"observed and fitted need one value per temperature ({T.size})")
    if (sigma is None) == (noise_rel is None):
        raise ValueError("give exactly one noise level: sigma (absolute) or noise_rel (relative)")
    s = (np.broadcast_to(np.asarray(sigma, float), T.shape) if sigma is not None
         else float(noise_rel) * np.abs(obs))
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("the noise level must be finite and > 0 at every temperature")
    dof = T.size - int(n_params)
    if dof < 1:
        raise ValueError(f"{T.size} points and {n_params} parameters leave no degrees of freedom")
    r = (obs - fit) / s
    chi2_red = float(np.sum(r**2) / dof)
    worst = np.argsort(-np.abs(r))[:n_worst]
    describes = chi2_red <= 1.0 + 3.0 * np.sqrt(2.0 / dof)
    named = ", ".join(f"{T[i]:.3g} K ({r[i]:+.1f} sigma)" for i in worst)
    head = ("the model describes this curve" if describes
            else "the model does not describe this curve")
    return Misfit(chi2_red=chi2_red, dof=dof, worst_T=tuple(float(T[i]) for i in worst),
                  worst_residuals=tuple(float(r[i]) for i in worst), describes=describes,
                  message=f"{head}: reduced chi^2 = {chi2_red:.3g} over {dof} degrees of freedom; "
                          f"worst at {named}")

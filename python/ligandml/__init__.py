"""ligandml: ligand-field parameters of lanthanide magnets from measured magnetic data.

Which module holds which concept (one screen; the README's "Layout" says the same):

physics       ions (Hund's rules), operators (Stevens O_k^q), parameters (names, units, batches,
              D, E equivalents), symmetry (32 point groups, equivalent sets), rotations (Wigner
              D), hamiltonian, susceptibility (exact zero-field Van Vleck), orientations (sphere
              grids), finite_field (powder and single-crystal M/B and M(H)), crystal_field (one
              set, object API), structure_models + coordination + ln_tables + racah (point
              charge, superposition, <r^k>, Stevens factors), constants, error_model (chi_dia,
              s_m), checks (argument checks)
backends      sweeps (the public batched calls), backends (numpy | julia | auto), julia_import
              (the only juliacall import), julia_setup (probe, install, status), julia_backend
              (kernel calls)
data          dataset/ (config, chunks, store, generate, reader), augmentation, preprocessing
              (normalisation, OOD check), curves (text curves), instruments (Quantum Design .dat),
              elements (formulas, atomic weights), diamagnetic (Pascal's constants),
              plausibility (refuse impossible curves)
inference     nets/ (vae, inn, spline_coupling; kinds = one class per model kind), training,
              model (load, save, predict), posterior (SampleSet, Posterior), laplace (the
              network's posterior sharpened: least squares + Laplace mixture at the minima)
baselines     likelihood, optimize, clustering, fitting (least squares, refine), grid_posterior
              (exact), metrics (equivalent-aware errors, C2ST), calibration (coverage, SBC, TARP),
              comparison, benchmark_task (the Er D, E task)
people        plots, report, demo, cli + commands/ (parse and call only)

Conventions: the README's table and DESIGN.md. `import ligandml` loads neither torch nor juliacall.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from .backends import backend_info, install_julia
# calibration (coverage, SBC, TARP)
from .calibration import calibration_plot, calibration_summary, tarp
# sbi benchmark (issue 12): the Cramer-Rao floor
from .cramer_rao import CramerRao, cramer_rao, curve_cramer_rao, gaussian_distance_median
from .constants import curie_constant
from .crystal_field import CrystalField
from .dataset import Dataset, DatasetConfig, generate_dataset, open_dataset
from .error_model import apply_experimental_errors
from .fitting import FitResult, fit_least_squares, refine_posterior
from .grid_posterior import GridPosterior, GridPrior, grid_posterior
from .laplace import LaplacePosterior, laplace_posterior
from .ions import LANTHANIDES, Ion, ion
from .metrics import c2st, equivalents_found
from .preprocessing import MinMaxNormalizer, OutOfDistributionWarning
from .operators import spin_matrices, stevens_operator
from .parameters import canonical_DE, equivalent_DE, nearest_equivalent_distance
from .sweeps import powder_magnetization, powder_susceptibility
# symmetry and rotations
from .rotations import rotate_parameters
from .symmetry import allowed_parameters, canonical_parameters, equivalent_parameters
# lab input: instrument files, Pascal's constants, curve reading, plausibility
from .curves import read_curve, read_curve_data
from .diamagnetic import DiamagneticCorrection, diamagnetic_correction
from .elements import molar_mass, parse_formula
from .instruments import MagnetizationCurve, MeasuredCurve, read_mpms, read_mpms_mh
from .plausibility import ImplausibleCurveError, check_plausible, misfit, plausibility
# end lab input
# structure models (point charge, superposition, XYZ reader, Ln3+ tables)
from .coordination import CoordinationSphere, read_xyz
from .ln_tables import radial_integral, stevens_factor
from .structure_models import point_charge_parameters, superposition_parameters
# finite field (single crystal)
from .sweeps import crystal_magnetization, crystal_susceptibility
# multi: N parameters and several observables (folding equivalent sets)
from .folding import equivalent_sets, fold as fold_parameters

try:
    __version__ = _version("ligandml")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    # physics
    "CrystalField", "Ion", "LANTHANIDES", "apply_experimental_errors", "canonical_DE",
    "curie_constant", "equivalent_DE", "ion", "nearest_equivalent_distance",
    "powder_magnetization", "powder_susceptibility", "spin_matrices", "stevens_operator",
    # finite field (single crystal)
    "crystal_magnetization", "crystal_susceptibility",
    # backends
    "backend_info", "install_julia",
    # datasets
    "Dataset", "DatasetConfig", "MinMaxNormalizer", "OutOfDistributionWarning",
    "generate_dataset", "open_dataset",
    # baselines and metrics
    "FitResult", "GridPosterior", "GridPrior", "c2st", "equivalents_found", "fit_least_squares",
    "grid_posterior", "refine_posterior", "LaplacePosterior", "laplace_posterior",
    # symmetry and rotations
    "allowed_parameters", "canonical_parameters", "equivalent_parameters", "rotate_parameters",
    # lab input: instrument files, Pascal's constants, curve reading, plausibility
    "DiamagneticCorrection", "ImplausibleCurveError", "MagnetizationCurve", "MeasuredCurve",
    "check_plausible", "diamagnetic_correction", "misfit", "molar_mass", "parse_formula",
    "plausibility", "read_curve", "read_curve_data", "read_mpms", "read_mpms_mh",
    # structure models
    "CoordinationSphere", "point_charge_parameters", "radial_integral", "read_xyz",
    "stevens_factor", "superposition_parameters",
    # calibration
    "calibration_plot", "calibration_summary", "tarp",
    # sbi benchmark (issue 12): the Cramer-Rao floor
    "CramerRao", "cramer_rao", "curve_cramer_rao", "gaussian_distance_median",
    # multi: N parameters and several observables
    "equivalent_sets", "fold_parameters",
]

#: VAE-INN API, imported on first use: torch and FrEIA stay out of `import ligandml`, because
#: juliacall must be imported before torch in a process that uses both (DESIGN.md)
_LAZY_EXPORTS = {"load_model": "model", "VAEINNModel": "model", "ModelConfig": "model",
                 # architecture (arch2): the model container's kind-neutral name
                 "InverseModel": "model",
                 "Posterior": "posterior", "TrainConfig": "training", "train_model": "training",
                 "train_from_dataset": "training"}
# multi: the shipped models by name ("default", "er-d3d")
_LAZY_EXPORTS.update({"shipped_models": "model"})
__all__ += sorted(_LAZY_EXPORTS)


def __getattr__(name):
    if name in _LAZY_EXPORTS:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'ligandml' has no attribute {name!r}")

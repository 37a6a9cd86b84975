"""The structure-informed prior (dataset.structure_prior) and the named polyhedra.

Every assertion compares with a number computed independently: ligandml.superposition_parameters
on the same geometry, closed forms (B20 = alpha_J b2 sum P2(cos theta), the cubic ratio
B44 = 5 B40, equal edges of the ideal polyhedra), the point group's allowed set, the stated
residual width, and the published KErSe2 parameters (Scheie et al., PRB 101, 144432 (2020))."""
from __future__ import annotations

import numpy as np
import pytest

import ligandml
from ligandml.constants import KELVIN_PER_MEV
from ligandml.coordination import MAGIC_ANGLE_DEG, POLYHEDRA, polyhedron_positions
from ligandml.dataset import DatasetConfig, draw_parameters, generate_dataset, open_dataset
from ligandml.dataset.priors import scale_aware_half_width
from ligandml.dataset.structure_prior import (KERSE2_ERSE6, TERM_NAMES, check_structure,
                                              draw_structure_parameters, model_parameters,
                                              project_allowed, superposition_batch)
from ligandml.symmetry import allowed_parameters, check_symmetry

ER = "Er3+"
D3D = ("B20", "B40", "B43", "B60", "B63", "B66")
KERSE2_MEV = {"B20": -2.772780224706159e-2, "B40": -3.986791337847824e-4,
              "B43": -1.4164750780259892e-2, "B60": 3.152118222727135e-6,
              "B63": -7.615963268822789e-6, "B66": 3.2752689577855864e-5}
FIXED = {"b2": [400.0, 400.0], "b4": [50.0, 50.0], "b6": [10.0, 10.0],
         "t2": [6.0, 6.0], "t4": [9.0, 9.0], "t6": [11.0, 11.0]}


def half_widths(names):
    return np.array([scale_aware_half_width(ER, n) for n in names])


def zero_rounding(params: dict) -> dict:
    """Values below 1e-12 of their scale-aware half-width set to 0 (rounding of the sums)."""
    return {n: (v if abs(v) > 1e-12 * scale_aware_half_width(ER, n) else 0.0) for n, v in params.items()}


def spec(**changes):
    base = {"polyhedron": "trigonal-octahedron", "distance": 2.857, "angle": 56.95,
            "residual": 0.0, "random_equivalent": False, **FIXED}
    base.update(changes)
    return check_structure(base, ER, None)


# ---------------------------------------------------------------- polyhedra

@pytest.mark.parametrize("name", list(POLYHEDRA))
@pytest.mark.parametrize("shift", [0.0, 3.1, -4.0])
def test_polyhedra_have_the_symmetry_of_their_group(name, shift):
    group, ideal = POLYHEDRA[name][:2]
    ligands = polyhedron_positions(name, 2.5, ideal + shift)
    params = ligandml.superposition_parameters(ER, ligands, {2: 300, 4: 50, 6: 10},
                                               {2: 6, 4: 9, 6: 11}, 2.5)
    check_symmetry(zero_rounding(params), group)            # raises on a forbidden term
    # a generic rotation of the same polyhedron breaks the setting: the test can fail
    R = ligandml.rotations.axis_rotation([0.3, 0.5, 0.8], 0.4)
    rotated = ligandml.superposition_parameters(ER, ligands @ R.T, {2: 300, 4: 50, 6: 10},
                                                {2: 6, 4: 9, 6: 11}, 2.5)
    with pytest.raises(ValueError, match="forbidden by site symmetry"):
        check_symmetry(zero_rounding(rotated), group)


def test_ideal_polyhedra_closed_forms():
    for name in ("trigonal-prism", "square-antiprism"):
        L = polyhedron_positions(name, 1.0)
        d = np.linalg.norm(L[:, None] - L[None], axis=-1)
        nearest = np.sort(d, axis=1)[:, 1]
        assert np.ptp(nearest) < 1e-12                           # every ligand's nearest neighbours
        edges = np.sum(np.abs(d - nearest[0]) < 1e-9) // 2
        assert edges == {"trigonal-prism": 9, "square-antiprism": 16}[name]
    cube = ligandml.superposition_parameters(ER, polyhedron_positions("square-prism", 2.4),
                                             {2: 300, 4: 50, 6: 10}, {2: 6, 4: 9, 6: 11}, 2.4)
    assert cube["B44"] == pytest.approx(5 * cube["B40"], rel=1e-12)     # Oh: B44 = 5 B40
    assert cube["B64"] == pytest.approx(-21 * cube["B60"], rel=1e-12)   # Oh: B64 = -21 B60
    assert abs(cube["B20"]) < 1e-12


@pytest.mark.parametrize("angle", [50.0, MAGIC_ANGLE_DEG, 56.95, 60.0])
def test_trigonal_octahedron_B20_closed_form(angle):
    """B20 = alpha_J b2 sum_i P2(cos theta_i) = alpha_J b2 6 (3 cos^2 theta - 1)/2: compression
    (theta > 54.74 deg) gives B20 < 0 for Er3+ with b2 > 0, elongation B20 > 0."""
    p = ligandml.superposition_parameters(ER, polyhedron_positions("trigonal-octahedron", 2.8, angle),
                                          {2: 400, 4: 50, 6: 10}, {2: 6, 4: 9, 6: 11}, 2.8)
    c = np.cos(np.radians(angle))
    assert p["B20"] == pytest.approx(ligandml.stevens_factor(ER, 2) * 400 * 6 * (3 * c * c - 1) / 2,
                                     rel=1e-12, abs=1e-15)


def test_polyhedron_bad_input():
    with pytest.raises(ValueError, match="unknown polyhedron"):
        polyhedron_positions("icosahedron", 2.0)
    with pytest.raises(ValueError, match="distance"):
        polyhedron_positions("trigonal-octahedron", -1.0)
    with pytest.raises(ValueError, match="angle"):
        polyhedron_positions("trigonal-octahedron", 2.0, 95.0)


# ---------------------------------------------------------------- the model part of the prior

def test_no_residual_no_jitter_equals_the_superposition_model():
    s, group = spec()
    assert group == "D3d"
    draws = draw_structure_parameters(s, ER, group, D3D, 50, np.random.default_rng(0), 200.0)
    direct = ligandml.superposition_parameters(
        ER, polyhedron_positions("trigonal-octahedron", 2.857, 56.95),
        {2: 400.0, 4: 50.0, 6: 10.0}, {2: 6.0, 4: 9.0, 6: 11.0}, 2.857)
    expected = np.array([direct[n] for n in D3D])
    np.testing.assert_allclose(draws, np.broadcast_to(expected, draws.shape), rtol=1e-12,
                               atol=1e-14 * half_widths(D3D).min())
    # in meV: the same numbers divided by 11.604518
    in_meV = draw_structure_parameters(s, ER, group, D3D, 5, np.random.default_rng(0), 200.0, "meV")
    np.testing.assert_allclose(in_meV * KELVIN_PER_MEV, draws[:5], rtol=1e-12)


def test_batched_model_equals_superposition_parameters_per_geometry():
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(4, 7, 3)) * 2.5
    b = {2: rng.uniform(100, 500, 4), 4: rng.uniform(10, 80, 4), 6: rng.uniform(1, 20, 4)}
    t = {2: rng.uniform(3, 8, 4), 4: rng.uniform(5, 12, 4), 6: rng.uniform(6, 12, 4)}
    batch = superposition_batch(ER, pos, b, t, 2.4)
    for i in range(4):
        one = ligandml.superposition_parameters(ER, pos[i], {k: b[k][i] for k in b},
                                                {k: t[k][i] for k in t}, 2.4)
        np.testing.assert_allclose(batch[i], [one[n] for n in TERM_NAMES], rtol=1e-12, atol=1e-18)


def test_xyz_ligands_equal_the_superposition_model(tmp_path):
    ligands = polyhedron_positions("trigonal-octahedron", 2.31, 53.0)
    path = tmp_path / "ErO6.xyz"
    path.write_text("7\nErO6\nEr 1 1 1\n" + "".join(f"O {x + 1} {y + 1} {z + 1}\n" for x, y, z in ligands))
    sphere = ligandml.read_xyz(path)
    s, group = check_structure({"ligands": sphere.positions.tolist(), "residual": 0.0,
                                "random_equivalent": False, **FIXED}, ER, "D3d")
    draws = draw_structure_parameters(s, ER, group, D3D, 3, np.random.default_rng(0), 200.0)
    direct = ligandml.superposition_parameters(ER, sphere, {2: 400.0, 4: 50.0, 6: 10.0},
                                               {2: 6.0, 4: 9.0, 6: 11.0}, s["R0"])
    np.testing.assert_allclose(draws[0], [direct[n] for n in D3D], rtol=1e-11)
    assert s["R0"] == pytest.approx(2.31)


def test_random_equivalent_is_the_model_or_its_D3d_twin():
    s, group = spec(random_equivalent=True)
    draws = draw_structure_parameters(s, ER, group, D3D, 400, np.random.default_rng(1), 200.0)
    plain = draw_structure_parameters(spec()[0], ER, group, D3D, 1, np.random.default_rng(1), 200.0)[0]
    twin = plain * np.array([1, 1, -1, 1, -1, 1])
    is_plain = np.all(np.isclose(draws, plain, rtol=1e-10, atol=0), axis=1)
    is_twin = np.all(np.isclose(draws, twin, rtol=1e-10, atol=0), axis=1)
    assert np.all(is_plain ^ is_twin)
    assert 0.4 < is_twin.mean() < 0.6


def test_d3d_draws_lie_in_the_allowed_set_even_with_symmetry_breaking_jitter():
    s, group = spec(angle_jitter=2.0, distance_jitter=0.05, position_jitter=0.05,
                    random_equivalent=True, b2=[100, 700], b4=[10, 90], b6=[1, 15])
    full = model_parameters(s, ER, group, 300, np.random.default_rng(2))         # (n, 27) [K]
    forbidden = [i for i, n in enumerate(TERM_NAMES) if n not in allowed_parameters("D3d")]
    scale = np.array([scale_aware_half_width(ER, n) for n in TERM_NAMES])
    assert np.abs(full[:, forbidden] / scale[forbidden]).max() < 1e-12
    for row in full[:20]:
        check_symmetry(zero_rounding(dict(zip(TERM_NAMES, row))), "D3d")
    # the jittered geometry itself is not D3d: without the projection the test above would fail
    rng = np.random.default_rng(2)
    pos = polyhedron_positions("trigonal-octahedron", 2.857, 56.95)[None] + 0.05 * rng.normal(size=(20, 6, 3))
    raw = superposition_batch(ER, pos, {2: 400, 4: 50, 6: 10}, {2: 6, 4: 9, 6: 11}, 2.857)
    assert np.abs(raw[:, forbidden] / scale[forbidden]).max() > 1e-3
    projected = project_allowed(raw, "D3d")
    np.testing.assert_allclose(project_allowed(projected, "D3d"), projected, atol=1e-15)  # idempotent


def test_residual_has_the_stated_width():
    s, group = spec(residual=0.1, b2=[40.0, 40.0], b4=[5.0, 5.0], b6=[1.0, 1.0])
    model = draw_structure_parameters(spec(b2=[40.0, 40.0], b4=[5.0, 5.0], b6=[1.0, 1.0])[0],
                                      ER, group, D3D, 1, np.random.default_rng(0), 200.0)[0]
    draws = draw_structure_parameters(s, ER, group, D3D, 20000, np.random.default_rng(4), 200.0)
    h = half_widths(D3D)
    assert np.all(np.abs(model) < 0.5 * h)          # far from the box edges: no truncation here
    sd = draws.std(axis=0) / (0.1 * h)
    np.testing.assert_allclose(sd, 1.0, rtol=0.03)
    np.testing.assert_allclose((draws.mean(axis=0) - model) / (0.1 * h), 0.0, atol=0.03)
    # half the width when asked for half
    half = draw_structure_parameters(spec(residual=0.05, b2=[40.0, 40.0], b4=[5.0, 5.0], b6=[1.0, 1.0])[0],
                                     ER, group, D3D, 20000, np.random.default_rng(5), 200.0)
    np.testing.assert_allclose(half.std(axis=0) / (0.05 * h), 1.0, rtol=0.03)


def test_draws_stay_inside_the_scale_aware_box():
    s, group = spec(residual=0.5, b4=[50.0, 120.0])
    draws = draw_structure_parameters(s, ER, group, D3D, 3000, np.random.default_rng(6), 200.0)
    assert np.all(np.abs(draws) <= half_widths(D3D))
    with pytest.raises(ValueError, match="inside the scale-aware box"):
        draw_structure_parameters(spec(b4=[5000.0, 6000.0])[0], ER, group, D3D, 100,
                                  np.random.default_rng(0), 200.0)


# ---------------------------------------------------------------- KErSe2

def test_kerse2_published_set_is_within_reach_of_the_default_ErSe6_prior():
    """The default ErSe6 prior (KErSe2 geometry, Se defaults) against the published KErSe2 set:
    inside the box, central in every marginal, and within one residual sd on all six
    parameters for a few per cent of the model draws (the box: (0.1)^6 = 1e-6 of its volume)."""
    config = DatasetConfig.preset("er-d3d", prior="structure", n_sets=20000, chunk_sets=20000)
    names = config.param_names
    assert names == list(D3D)
    published = np.array([KERSE2_MEV[n] * KELVIN_PER_MEV for n in names])
    h = half_widths(names)
    assert np.all(np.abs(published) < h)
    draws = draw_parameters(config, 0)
    quantile = (draws < published).mean(axis=0)
    assert np.all((quantile > 0.05) & (quantile < 0.95)), dict(zip(names, quantile))
    model = model_parameters(config.structure, ER, "D3d", 20000, np.random.default_rng(7))
    model = model[:, [TERM_NAMES.index(n) for n in names]]
    distance = np.abs(model - published) / (config.structure["residual"] * h)
    assert (distance.max(axis=1) < 1.0).mean() > 0.005
    # signs: a compressed ErSe6 octahedron with b2 > 0 gives B20 < 0, as published
    assert (draws[:, 0] < 0).mean() > 0.5 and published[0] < 0


# ---------------------------------------------------------------- configuration

def test_structure_config_round_trips_through_dict_and_toml(tmp_path):
    c = DatasetConfig.preset("er-d3d", observables="crystal", prior="structure", n_sets=100)
    assert c.point_group == "D3d" and c.structure["ligand"] == "Se"
    assert c.structure["b4"][0] < c.structure["b4"][1]          # the defaults are written out
    assert DatasetConfig.from_dict(c.to_dict()) == c
    c.to_toml(tmp_path / "s.toml")
    assert DatasetConfig.from_toml(tmp_path / "s.toml") == c
    lig = DatasetConfig(ion=ER, point_group="D3d", params=None, prior="structure", n_sets=10,
                        structure={"ligands": polyhedron_positions("trigonal-octahedron", 2.3, 53.0).tolist(),
                                   "ligand": "O"})
    lig.to_toml(tmp_path / "l.toml")
    assert DatasetConfig.from_toml(tmp_path / "l.toml") == lig
    # same seed, same draws; another seed, others
    a, b = draw_parameters(c, 0), draw_parameters(c.replace(), 0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, draw_parameters(c.replace(seed=1), 0))


BAD = [
    ({"structure": None}, "needs a geometry"),
    ({"structure": "octahedron"}, "must be a table"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se", "colour": 1}},
     r"unknown field\(s\) \['colour'\]"),
    ({"structure": {"distance": 2.8, "ligand": "Se"}}, "exactly one of 'polyhedron'"),
    ({"structure": {"polyhedron": "cube", "distance": 2.8, "ligand": "Se"}}, "structure.polyhedron: unknown"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "ligand": "Se"}}, "structure.distance"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": -2, "ligand": "Se"}}, "structure.distance"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "angle": 91, "ligand": "Se"}},
     "structure.angle"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Xx"}}, "structure.ligand"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "N"}}, "structure.b2"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se", "b4": [9, 1]}},
     "structure.b4"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se", "t6": "x"}},
     "structure.t6"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se", "residual": -0.1}},
     "structure.residual"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se", "angle_jitter": 60}},
     "structure.angle_jitter"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se",
                    "distance_jitter": 3.0}}, "structure.distance_jitter"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se",
                    "random_equivalent": "yes"}}, "structure.random_equivalent"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se"},
      "point_group": "D4h"}, "built in the setting of D3d"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se"},
      "sampling": "sobol"}, "sampling must be 'uniform'"),
    ({"structure": {"polyhedron": "trigonal-octahedron", "distance": 2.8, "ligand": "Se"},
      "params": ["B20", "B40"]}, "samples every allowed parameter"),
    ({"structure": {"ligands": [[0, 0, 2.5], [0, 0, -2.5]], "ligand": "O"}}, "needs the site's point group"),
    ({"structure": {"ligands": (polyhedron_positions("trigonal-octahedron", 2.4, 58.0)
                                @ ligandml.rotations.axis_rotation([1, 0, 0], 0.7).T).tolist(),
                    "ligand": "O"}, "point_group": "D3d"}, "forbidden by D3d"),
    ({"structure": {"ligands": [[0, 0, 2.5], [0, 0, -2.5]], "ligand": "O", "angle_jitter": 1.0},
      "point_group": "D3d"}, "structure.angle_jitter"),
]


@pytest.mark.parametrize("changes,message", BAD, ids=[m for _, m in BAD])
def test_bad_structure_fields_are_refused_by_name(changes, message):
    kwargs = {"ion": ER, "params": None, "prior": "structure", "n_sets": 10, **changes}
    with pytest.raises(ValueError, match=message) as info:
        DatasetConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_structure_field_only_with_the_structure_prior():
    with pytest.raises(ValueError, match="DatasetConfig.structure is used by prior='structure' only"):
        DatasetConfig(structure=dict(KERSE2_ERSE6))


def test_structure_dataset_generates_and_reads_back(tmp_path):
    config = DatasetConfig.preset("er-d3d", observables="crystal", prior="structure", n_sets=24,
                                  chunk_sets=12, copies=1)
    generate_dataset(config, tmp_path / "s.zarr", backend="numpy", progress=False)
    ds = open_dataset(tmp_path / "s.zarr")
    values = ds.params[list(D3D)].to_numpy()
    assert np.all(np.abs(values) <= half_widths(D3D))
    np.testing.assert_array_equal(values[::2], np.concatenate([draw_parameters(config, 0),
                                                               draw_parameters(config, 1)]))


def test_cli_config_with_a_structure_prior(tmp_path, capsys):
    from ligandml.cli import main as cli_main

    out = tmp_path / "s.toml"
    assert cli_main(["dataset", "config", "--prior", "structure", "--polyhedron", "square-antiprism",
                     "--distance", "2.35", "--ligand", "O", "--residual", "0.05", "--n-sets", "50",
                     "--out", str(out)]) == 0
    c = DatasetConfig.from_toml(out)
    assert c.point_group == "D4" and c.param_names == ["B20", "B40", "B44", "B60", "B64"]
    assert c.structure["residual"] == 0.05 and c.structure["angle"] == pytest.approx(59.264, abs=1e-3)
    xyz = tmp_path / "ErO6.xyz"
    xyz.write_text("".join(f"O {x} {y} {z}\n" for x, y, z in
                           polyhedron_positions("trigonal-octahedron", 2.3, 56.0)))
    out2 = tmp_path / "l.toml"
    assert cli_main(["dataset", "config", "--prior", "structure", "--ligands", str(xyz),
                     "--ion", "Er3+", "--n-sets", "50", "--out", str(out2)]) == 2   # no point group
    assert "needs the site's point group" in capsys.readouterr().err
    assert cli_main(["dataset", "config", "--preset", "er-d3d", "--prior", "structure", "--ligands",
                     str(xyz), "--n-sets", "50", "--out", str(out2)]) == 0
    c2 = DatasetConfig.from_toml(out2)
    assert c2.structure["ligand"] == "O" and len(c2.structure["ligands"]) == 6

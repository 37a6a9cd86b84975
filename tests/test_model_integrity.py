"""Model folders are verified, not trusted: integrity.json (sha256 of the weights and of each
signed model.json field), every field against the weights' shapes and the dataset config, NaN
weights refused, ood_warn / ood_fail read from the file."""
from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from ligandml.model import (CONFIG_FILE, DEFAULT_MODEL_DIR, INTEGRITY_FILE, WEIGHTS_FILE,
                            load_model, write_integrity)
from ligandml.sweeps import powder_susceptibility


@pytest.fixture
def folder(tmp_path):
    """A copy of the shipped model folder."""
    out = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, out)
    return out


def edit_json(folder, **changes):
    d = json.loads((folder / CONFIG_FILE).read_text())
    d.update(changes)
    (folder / CONFIG_FILE).write_text(json.dumps(d, indent=1))
    return d


def er_curve(T, D=-6.0, E=1.0):
    """Zero-field powder chi [emu/mol] of Er3+ with D, E [K] on T [K]."""
    return powder_susceptibility("Er3+", {"D": np.array([D]), "E": np.array([E])}, T,
                                 backend="numpy")[0]


def test_shipped_model_verifies_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_model()
    assert model.param_names == ["D", "E", "chi_dia"]
    assert (DEFAULT_MODEL_DIR / INTEGRITY_FILE).is_file()


def test_swapped_param_names_are_refused(folder):
    edit_json(folder, param_names=["E", "D", "chi_dia"])
    with pytest.raises(ValueError, match=r"field\(s\) \['param_names'\] differ"):
        load_model(folder)
    # without the record (an older folder) the dataset config still exposes the swap
    (folder / INTEGRITY_FILE).unlink()
    with pytest.warns(UserWarning, match="unverified"), \
            pytest.raises(ValueError, match="param_names .* do not match the dataset"):
        load_model(folder)


def test_param_names_count_must_match_output_width(folder):
    edit_json(folder, param_names=["D", "E", "chi_dia", "s_m"])
    write_integrity(folder)  # even with a consistent record
    with pytest.raises(ValueError, match="4 names but the weights output 3"):
        load_model(folder)


def test_temperature_grid_must_match_input_width(folder):
    d = json.loads((folder / CONFIG_FILE).read_text())
    edit_json(folder, T=d["T"][:-1])
    write_integrity(folder)
    with pytest.raises(ValueError, match="127 temperatures but the weights take 128"):
        load_model(folder)


def test_ood_fail_comes_from_the_file(folder):
    model = load_model(folder)
    T = model.T
    chi = 3.0 * er_curve(T)  # ~15 range widths outside the training curves
    assert model.ood_fail == 5.0  # the shipped file's value, not a built-in default
    features = model._features(chi[None, :])  # the OOD check itself (predict's plausibility check comes first)
    with pytest.raises(ValueError, match="far outside the training distribution"):
        model.check_distribution(features)
    edit_json(folder, ood_fail=50.0)  # policy field: may be edited, and is honoured
    relaxed = load_model(folder)
    assert relaxed.ood_fail == 50.0
    with pytest.warns(UserWarning, match="outside the training distribution"):
        post = relaxed.predict(T, chi, n_samples=10, seed=0, force=True)
    assert post.info["ood_excess"] > 5.0
    edit_json(folder, ood_fail=0.01)  # below ood_warn: inconsistent
    with pytest.raises(ValueError, match="ood_warn <= ood_fail"):
        load_model(folder)


def test_nan_weights_are_refused(folder):
    state = load_file(str(folder / WEIGHTS_FILE))
    name = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1
                and not k.startswith("ref_"))
    state[name] = state[name].clone()
    state[name].view(-1)[0] = float("nan")
    save_file(state, str(folder / WEIGHTS_FILE))
    with pytest.raises(ValueError, match="does not match the sha256"):
        load_model(folder)
    write_integrity(folder)  # a record made after the damage still does not bless NaN
    with pytest.raises(ValueError, match=rf"non-finite .*{name}"):
        load_model(folder)


def test_weights_checksum_mismatch_is_refused(folder):
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[-100] ^= 0x01  # one bit of a tensor value: still a readable, finite file
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ValueError, match="weights are damaged or were replaced"):
        load_model(folder)


def test_edited_signed_fields_are_named(folder):
    d = json.loads((folder / CONFIG_FILE).read_text())
    d["dataset_normalizer"]["max"] *= 2
    edit_json(folder, dataset_normalizer=d["dataset_normalizer"], ion="Dy3+")
    with pytest.raises(ValueError, match=r"\['dataset_normalizer', 'ion'\] differ"):
        load_model(folder)
    (folder / INTEGRITY_FILE).unlink()
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="ion 'Dy3\\+' differs"):
        load_model(folder)


def test_older_folder_without_record_loads_with_one_warning(folder):
    (folder / INTEGRITY_FILE).unlink()
    with pytest.warns(UserWarning, match="no integrity.json .* unverified") as record:
        model = load_model(folder)
    assert len([w for w in record if "unverified" in str(w.message)]) == 1
    assert model.param_names == ["D", "E", "chi_dia"]


def test_save_writes_a_record_that_load_verifies(tmp_path):
    model = load_model()
    out = model.save(tmp_path / "resaved")
    assert json.loads((out / INTEGRITY_FILE).read_text())["algorithm"] == "sha256"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_model(out)
    assert again.ood_fail == model.ood_fail and again.ood_warn == model.ood_warn
    a, b = model.net.state_dict(), again.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with torch.no_grad():
        model.net.x_mean[0] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        model.save(tmp_path / "bad")

"""Material library, part fatigue limit, safety factor and Basquin life."""

import math

import pytest

from surfsight.errors import InputError
from surfsight.failure import (MATERIALS, basquin_life, fatigue_limit, get_material, load_materials,
                               murakami_limit, safety_factor)

REQUIRED = ["steel_42CrMo4_QT", "steel_C45_N", "steel_34CrNiMo6_QT", "stainless_316L", "stainless_17-4PH_H900",
            "aluminium_AlSi10Mg_LPBF", "aluminium_7075-T6", "aluminium_6061-T6", "titanium_Ti-6Al-4V"]


@pytest.mark.parametrize("name", REQUIRED)
def test_library_entries_are_complete_and_plausible(name):
    m = MATERIALS[name]
    assert m.source
    assert 0 < m.fatigue_limit_Pa < m.tensile_strength_Pa < m.basquin_sigma_f_Pa
    assert -0.2 < m.basquin_b < 0
    assert 0.05 <= m.fatigue_limit_cov <= 0.15
    # Basquin at 1e6-1e8 cycles lies within a factor 1.6 of the stated fatigue limit
    at_1e7 = m.basquin_sigma_f_Pa * (2e7) ** m.basquin_b
    assert 0.6 < at_1e7 / m.fatigue_limit_Pa < 1.6


def test_unknown_material_lists_close_names():
    with pytest.raises(InputError, match="steel_42CrMo4_QT"):
        get_material("42CrMo4")


def test_user_file_extends_and_is_validated(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("materials:\n  my_steel:\n    group: steel\n    hardness_HV: 300\n    tensile_strength: 950\n"
                    "    fatigue_limit: 430\n    basquin: {sigma_f: 1400, b: -0.09}\n    source: our tests 2024\n")
    lib = load_materials(good)
    assert lib["my_steel"].fatigue_limit_Pa == 430e6 and "steel_42CrMo4_QT" in lib
    assert "my_steel" not in MATERIALS
    bad = tmp_path / "bad.yaml"
    bad.write_text("materials:\n  x:\n    hardness_hv: 300\n")
    with pytest.raises(InputError, match="hardness_HV"):
        load_materials(bad)
    nosrc = tmp_path / "nosrc.yaml"
    nosrc.write_text(good.read_text().replace("    source: our tests 2024\n", ""))
    with pytest.raises(InputError, match="source"):
        load_materials(nosrc)
    with pytest.raises(InputError, match="cannot read"):
        load_materials(tmp_path / "missing.yaml")


def test_fatigue_limit_weakest_link():
    m = get_material("steel_42CrMo4_QT")
    clean = fatigue_limit(m)
    assert clean.value_Pa == m.fatigue_limit_Pa and clean.governing == "material"
    rough = fatigue_limit(m, kf=1.1)
    assert rough.value_Pa == pytest.approx(m.fatigue_limit_Pa / 1.1) and rough.governing == "surface roughness"
    pit = {"kind": "pit", "depth_m": 40e-6, "length_m": 60e-6, "width_m": 60e-6}
    lim = fatigue_limit(m, [pit], kf=1.1)
    size = math.sqrt(math.pi / 4 * 40e-6 * 60e-6)
    assert lim.value_Pa == pytest.approx(murakami_limit(m.hardness_HV, size))
    assert lim.governing.startswith("defect 0 (pit")
    tiny = {"kind": "pit", "depth_m": 0.1e-6, "length_m": 0.2e-6, "width_m": 0.2e-6}
    assert fatigue_limit(m, [tiny]).value_Pa == m.fatigue_limit_Pa  # non-damaging defect


def test_safety_factor_and_basquin():
    m = get_material("steel_42CrMo4_QT")
    lim = fatigue_limit(m)
    assert safety_factor(lim, 330e6) == pytest.approx(495 / 330)
    assert basquin_life(m, 400e6) == math.inf
    # N = 0.5 (600/1650)^(1/-0.087)
    assert basquin_life(m, 600e6) == pytest.approx(0.5 * (600 / 1650) ** (1 / -0.087))
    # a defect halving the limit: the life at 300 MPa equals the clean life at 600 MPa * (495/...)
    pit = {"kind": "pit", "depth_m": 400e-6, "length_m": 800e-6, "width_m": 800e-6}
    reduced = fatigue_limit(m, [pit])
    sigma = reduced.value_Pa * 1.2
    assert basquin_life(m, sigma, reduced) == pytest.approx(
        basquin_life(m, sigma * m.fatigue_limit_Pa / reduced.value_Pa))
    assert basquin_life(m, 5000e6) == 0.5
    with pytest.raises(InputError):
        basquin_life(m, -1.0)

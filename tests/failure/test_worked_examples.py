"""Worked examples from published sources, reproduced with the numbers as printed.

Every number below was read in the source named in the test's docstring; nothing is recalled or
re-derived. Tolerances follow the rounding of the printed values. What could *not* be found
(Murakami's own book tables, Arola & Williams' Ra/Ry/Rz/rho table, a worked example in the FKM
guideline itself, a numeric example of the effective-area rules) is listed in docs/failure.md,
section "Worked examples from the sources".
"""

import math

import pytest

from surfsight.failure import (FKM_ROUGHNESS, LOCATION_CONSTANTS, fkm_roughness_factor, murakami_limit,
                               stress_ratio_factor)

# --------------------------------------------------------------------------------------------
# Murakami sqrt(area) model: Shi et al. (2024), LPBF GH4169 (Inconel 718 type), Table 5
# --------------------------------------------------------------------------------------------
#: Vickers hardness used by Shi et al. for every row of their Table 5 ("HV takes 452 kgf mm^-2 here").
SHI_HV = 452.0

#: (specimen number, defect size = projected AREA in um^2 as printed, calculated fatigue limit MPa)
SHI_SURFACE_ROWS = [
    (1, 442.38, 492.32),
    (3, 509.18, 486.59),
    (4, 329.19, 504.60),
    (6, 432.91, 493.21),
    (7, 462.75, 490.48),
]
SHI_INTERIOR_ROWS = [
    (2, 1053.98, 499.59),
    (5, 634.81, 521.16),
    (9, 1054.18, 499.59),
    (10, 1490.17, 485.38),
    (11, 989.61, 502.23),
]


def _sqrt_area_m(area_um2: float) -> float:
    return math.sqrt(area_um2) * 1e-6


@pytest.mark.parametrize("specimen,area_um2,sigma_w_mpa", SHI_SURFACE_ROWS)
def test_shi_2024_table5_surface_initiation(specimen, area_um2, sigma_w_mpa):
    """T. Shi, J. Li, G. Gao, J. Sun, Z. Yang, J. Yan, G. Qian, "Microstructural evolution and
    formation of fine grains during fatigue crack initiation process of laser powder bed fusion
    Ni-based superalloy", Additive Manufacturing (2024), article 104151,
    doi:10.1016/j.addma.2024.104151 -- section 4.1 and Table 5 ("Stress-life data and measured
    defect size for all failure specimens"), rows with crack initiation location "Surface".

    The paper applies Murakami's equation sigma_sur-w = 1.43 (HV + 120) / (sqrt(area_eff))^(1/6)
    with HV = 452 (their ref. [45], Murakami); the table's "Defect size" column is the projected
    area in um^2 (so sqrt(area) = sqrt of the printed value), the "Calculated fatigue limit" is
    printed to 0.01 MPa. The text of section 4.1 quotes specimen 4's value again ("about 504.60 MPa
    by surface flaw" for their Specimen I).

    Read in a public Markdown conversion of the paper.
    """
    got = murakami_limit(SHI_HV, _sqrt_area_m(area_um2), location="surface") / 1e6
    assert got == pytest.approx(sigma_w_mpa, abs=0.006)


@pytest.mark.parametrize("specimen,area_um2,sigma_w_mpa", SHI_INTERIOR_ROWS)
def test_shi_2024_table5_interior_initiation(specimen, area_um2, sigma_w_mpa):
    """Shi et al., Additive Manufacturing (2024) 104151, doi:10.1016/j.addma.2024.104151, Table 5,
    rows with crack initiation location "Interior": sigma_int-w = 1.56 (HV + 120) /
    (sqrt(area_eff))^(1/6), HV = 452, area printed in um^2, result printed to 0.01 MPa.
    Section 4.1 repeats 499.59 MPa (their Specimen II, size of the rough area) and 485.38 MPa
    (their Specimen III, size of the pore cluster), i.e. rows 2/9 and 10 here.

    Source read as for the surface rows.
    """
    got = murakami_limit(SHI_HV, _sqrt_area_m(area_um2), location="internal") / 1e6
    assert got == pytest.approx(sigma_w_mpa, abs=0.006)


def test_shi_2024_table5_specimen8_uses_the_surface_constant():
    """Shi et al. (2024) 104151, Table 5, specimen 8: defect size 267.24 um^2, calculated fatigue
    limit 513.44 MPa. In the conversion we read, the row sits in the "Interior" group, but the
    printed value is reproduced only with the *surface* constant 1.43 (1.56 gives 560.12 MPa).
    Its life (2.89e6 cycles) and stress amplitude (590.45 MPa, above the ~518.79 MPa transition
    the authors give for surface initiation) also point to a surface origin, so the row grouping
    in the conversion (or the paper) looks off by one. Recorded as found; the library is unchanged.
    """
    sqrt_area = _sqrt_area_m(267.24)
    assert murakami_limit(SHI_HV, sqrt_area, location="surface") / 1e6 == pytest.approx(513.44, abs=0.006)
    assert murakami_limit(SHI_HV, sqrt_area, location="internal") / 1e6 == pytest.approx(560.12, abs=0.006)


# --------------------------------------------------------------------------------------------
# Murakami's constants and stress-ratio term as stated by Endo (Murakami's co-author)
# --------------------------------------------------------------------------------------------
def test_endo_statement_of_the_murakami_equation():
    """M. Endo, "The multiaxial fatigue strength of specimens containing small defects", in
    A. Carpinteri, M. de Freitas, A. Spagnoli (Eds.), Biaxial/Multiaxial Fatigue and Fracture,
    Elsevier Science Ltd. and ESIS (chapter starting p. 243), p. 246, eqs. (3)-(4):
    sigma_w = 1.43 (HV + 120) / sqrt(area)^(1/6), generalised (Murakami and co-workers, their refs
    [26-28]) to sigma_w = C (HV + 120) / sqrt(area)^(1/6) ((1 - R)/2)^alpha with C = 1.43 at the
    surface, 1.41 for a subsurface layer just below the free surface, 1.56 interior, and
    alpha = 0.226 + HV 1e-4; prediction error "generally less than 10 percent" for sqrt(area)
    < 1000 um. Read at
    https://digilib.universitaspertamina.ac.id/ebook/Biaxial%20Multiaxial%20Fatigue%20and%20Fracture/files/basic-html/page262.html

    This is the equation as stated (no worked numbers on that page): the constants and the
    stress-ratio exponent must be exactly these.
    """
    assert LOCATION_CONSTANTS == {"surface": 1.43, "near_surface": 1.41, "internal": 1.56}
    for hv in (150.0, 452.0, 700.0):
        for r in (-1.0, -0.5, 0.0, 0.1):
            assert stress_ratio_factor(hv, r) == pytest.approx(((1 - r) / 2) ** (0.226 + hv * 1e-4), rel=1e-12)
        assert murakami_limit(hv, 100e-6, "surface", stress_ratio=0.0) / 1e6 == pytest.approx(
            1.43 * (hv + 120) / 100 ** (1 / 6) * 0.5 ** (0.226 + hv * 1e-4), rel=1e-12)


# --------------------------------------------------------------------------------------------
# FKM roughness factor (third-party reproduction; the guideline itself was not available)
# --------------------------------------------------------------------------------------------
def test_fkm_roughness_worked_example_quadco():
    """QUADCO Engineering, "Surface Roughness Factor KR" (FKM method),
    https://www.quadco.engineering/en/know-how/material-fatigue-surface-roughness-factor.htm,
    section "Example Calculation of KR": steel, Rm = 600 MPa, machined surface Rz = 100 um,
    a_R = 0.22, Rm,N,min = 400 MPa -> K_R = 1 - 0.22 log10(100) log10(2*600/400) = 0.79 (printed to
    two decimals). A third-party reproduction of the FKM guideline's equation, not the guideline.
    """
    assert fkm_roughness_factor(100e-6, 600e6, "steel") == pytest.approx(0.79, abs=0.005)


@pytest.mark.parametrize("group,a_r,rm_n_min_mpa", [
    ("steel", 0.22, 400), ("cast_steel", 0.20, 400), ("nodular_cast_iron", 0.16, 400),
    ("malleable_cast_iron", 0.12, 350), ("grey_cast_iron", 0.06, 100),
    ("wrought_aluminium", 0.22, 133), ("cast_aluminium", 0.20, 133),
])
def test_fkm_roughness_constants_quadco_table1(group, a_r, rm_n_min_mpa):
    """QUADCO Engineering (URL as above), Table 1 "Constant aR and minimum tensile strength
    Rm,N,min for different material types (according to FKM)": Steel 0.22/400, GS (cast steel)
    0.20/400, GGG (nodular cast iron) 0.16/400, GT (malleable cast iron) 0.12/350, GG (grey cast
    iron) 0.06/100, wrought aluminium alloys 0.22/133, cast aluminium alloys 0.20/133 MPa.
    """
    assert FKM_ROUGHNESS[group] == pytest.approx((a_r, rm_n_min_mpa * 1e6))

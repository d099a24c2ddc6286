"""ISO 25178-2 feature parameters: closed forms, pruning, invalid points, invariants, peer check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import ndimage

from surfsight.errors import InputError, ParameterError
from surfsight.metrology import segmentation as seg_module
from surfsight.metrology.features import (FEATURE_PARAMETERS, FEATURE_UNITS, S5p, S5v, S10z, Sda, Sdv, Sha,
                                          Shv, Spc, Spd, feature_parameters, feature_segmentation, segment)
from surfsight.surface import Profile, Surface

# --------------------------------------------------------------------------------------------------
# closed-form surfaces
# --------------------------------------------------------------------------------------------------

M = 17            # points per half period of the egg box (odd: peaks on points, zero lines between points)
L_PTS = 2 * M     # period in points
DX = 1e-6
AMP = 2e-6


def egg_box(periods: int = 4, amp: float = AMP, m: int = M) -> np.ndarray:
    """``amp * sin(2 pi x / L) * sin(2 pi y / L)`` sampled at ``x = (j + 1/2) dx``, ``L = 2 m dx``.

    Built from one half period and its exact negative, so that the pattern is exactly invariant under a
    shift by half a period in x and y (every hill is an exact copy of every other, ties included).
    """
    half = np.sin(np.pi * (np.arange(m) + 0.5) / m)
    s = np.concatenate([half, -half] * periods)
    return amp * np.outer(s, s)


def bumps(heights: np.ndarray, cell: int = 41, sigma: float = 4.0) -> np.ndarray:
    """Gaussian bumps ``h exp(-r^2 / (2 sigma^2))`` (sigma in points) centred on the points of a square
    lattice of pitch ``cell`` points; ``heights`` is the (rows, cols) array of bump heights."""
    rows, cols = heights.shape
    y = np.arange(rows * cell)[:, None]
    x = np.arange(cols * cell)[None, :]
    z = np.zeros((rows * cell, cols * cell))
    for i in range(rows):
        for j in range(cols):
            cy, cx = i * cell + cell // 2, j * cell + cell // 2
            z += heights[i, j] * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma**2))
    return z


def test_egg_box_closed_forms():
    z = egg_box()
    surface = Surface(z, DX)
    L = L_PTS * DX
    p = feature_parameters(surface)
    assert set(p) == set(FEATURE_PARAMETERS) == set(FEATURE_UNITS)
    # 2 peaks per period cell L x L, none pruned (prominence A >> 5 % of Sz = 0.1 A).
    assert p["Spd"] == pytest.approx(2 / L**2, rel=1e-12)
    # Curvature: continuous A k^2; the central difference gives A * 2 (1 - cos(k dx)) / dx^2 exactly.
    k = 2 * np.pi / L
    assert p["Spc"] == pytest.approx(AMP * 2 * (1 - np.cos(k * DX)) / DX**2, rel=1e-9)
    assert p["Spc"] == pytest.approx(AMP * k**2, rel=0.01)
    # Mean plane at 0: five highest peaks at +A, five deepest pits at -A.
    assert p["S5p"] == pytest.approx(AMP, rel=1e-12)
    assert p["S5v"] == pytest.approx(AMP, rel=1e-12)
    assert p["S10z"] == pytest.approx(2 * AMP, rel=1e-12)
    # Hills tile the plane (each positive square plus a quarter of each of the 4 dales around it):
    # area L^2 / 2 each, exactly, by the half-period symmetry. Same for dales.
    assert p["Sha"] == pytest.approx(L**2 / 2, rel=1e-12)
    assert p["Sda"] == pytest.approx(L**2 / 2, rel=1e-12)
    # Volume above the saddle plane: the saddles are where diagonal hills touch, at the corner points,
    # height A sin^2(pi / (2m)). Discrete sum over the positive square of (z - s)+, and about A (L/pi)^2.
    s = AMP * np.sin(np.pi / (2 * M)) ** 2
    block = egg_box(1)[:M, :M]
    expected = np.clip(block - s, 0, None).sum() * DX**2
    assert p["Shv"] == pytest.approx(expected, rel=1e-9)
    assert p["Sdv"] == pytest.approx(expected, rel=1e-9)
    assert p["Shv"] == pytest.approx(AMP * (L / np.pi) ** 2, rel=0.03)


def test_egg_box_segmentation_layout():
    fs = feature_segmentation(Surface(egg_box(), DX))
    hills, dales = fs.hills, fs.dales
    assert hills.count == dales.count == 32
    assert hills.labels.shape == (4 * L_PTS, 4 * L_PTS) and hills.labels.min() == 1
    # 8 x 8 squares of M points: 32 hills, 14 of them in the outer ring touch the border.
    assert int(hills.complete.sum()) == 18 and int(dales.complete.sum()) == 18
    assert fs.peaks.shape == (32, 2) and fs.pits.shape == (32, 2)
    # Peaks sit at the centres of the positive squares: (row, col) = M // 2 modulo M, z > 0.
    z = egg_box()
    assert np.all(fs.peaks % M == M // 2)
    assert np.all(z[fs.peaks[:, 0], fs.peaks[:, 1]] == pytest.approx(AMP))
    assert np.all(z[fs.pits[:, 0], fs.pits[:, 1]] == pytest.approx(-AMP))
    assert np.array_equal(segment(Surface(z, DX), "dales").labels, dales.labels)
    assert np.array_equal(segment(Surface(z, DX), "hills").labels, hills.labels)
    rough = Surface(exact_surface(5, 30, 40), DX)
    both = feature_segmentation(rough)
    assert np.array_equal(segment(rough, "hills").labels, both.hills.labels)
    assert np.array_equal(segment(rough, "dales").extrema, both.dales.extrema)


def test_paraboloid_peak_curvature_is_2a_with_anisotropic_spacing():
    a = 3.0e3  # 1/m
    dy, dx = 0.5e-6, 2e-6
    y = (np.arange(41) - 20)[:, None] * dy
    x = (np.arange(41) - 20)[None, :] * dx
    surface = Surface(-a * (x**2 + y**2), (dy, dx))
    assert Spc(surface) == pytest.approx(2 * a, rel=1e-9)
    # Elliptic paraboloid -a x^2 - b y^2: -1/2 (-2a - 2b) = a + b.
    b = 7.0e3
    assert Spc(Surface(-a * x**2 - b * y**2, (dy, dx))) == pytest.approx(a + b, rel=1e-9)
    # One peak; its hill is the whole map and touches the border: no complete hill.
    assert Spd(surface) == pytest.approx(1 / (41 * dy * 41 * dx))
    with pytest.raises(ParameterError, match="Sha"):
        Sha(surface)


def test_gaussian_bumps_closed_forms():
    heights = np.linspace(1.0, 2.2, 25).reshape(5, 5)[:, ::-1] * 1e-6
    sigma, cell = 4.0, 41
    z = bumps(heights, cell, sigma)
    surface = Surface(z, DX)
    n = 5 * cell
    area = (n * DX) ** 2
    fs = feature_segmentation(surface)
    assert Spd(surface, segmentation=fs) == pytest.approx(25 / area, rel=1e-12)
    # Mean plane: each bump holds h 2 pi sigma^2 (the lattice sum of a Gaussian with sigma = 4 points is
    # 2 pi sigma^2 to 1e-100); the neighbours' tails at a peak are below exp(-41^2 / 32) ~ 1e-23.
    mean = heights.sum() * 2 * np.pi * sigma**2 / n**2
    top5 = np.sort(heights.ravel())[::-1][:5]
    assert S5p(surface, segmentation=fs) == pytest.approx(top5.mean() - mean, rel=1e-9)
    # Peak curvature: continuous h / sigma^2; central differences give h 2 (1 - exp(-1/(2 sigma^2))) / dx^2.
    discrete = heights.mean() * 2 * (1 - np.exp(-1 / (2 * sigma**2))) / DX**2
    assert Spc(surface, segmentation=fs) == pytest.approx(discrete, rel=1e-9)
    assert Spc(surface, segmentation=fs) == pytest.approx(heights.mean() / (sigma * DX) ** 2, rel=0.02)


def test_equal_bumps_hill_area_is_the_lattice_cell():
    cell = 41
    surface = Surface(bumps(np.full((5, 5), 1e-6), cell), DX)
    hills = feature_segmentation(surface).hills
    # The 3 x 3 inner hills are complete; each owns its cell (boundaries halfway between bumps).
    assert int(hills.complete.sum()) == 9
    assert Sha(surface) == pytest.approx((cell * DX) ** 2, rel=1e-12)
    assert Shv(surface) > 0


def test_pruning_removes_noise_peaks():
    heights = np.linspace(1.0, 2.2, 25).reshape(5, 5) * 1e-6
    clean = Surface(bumps(heights), DX)
    rng = np.random.default_rng(7)
    noisy = Surface(clean.heights + 1e-3 * 1e-6 * rng.standard_normal(clean.shape), DX)
    reference = feature_parameters(clean, ["Spd", "S5p", "Sha", "Spc"])
    pruned = feature_parameters(noisy, ["Spd", "S5p", "Sha"])
    assert pruned["Spd"] == reference["Spd"]
    assert pruned["S5p"] == pytest.approx(reference["S5p"], rel=3e-3)
    assert pruned["Sha"] == pytest.approx(reference["Sha"], rel=0.05)
    # Without pruning every noise maximum on the flat background is a peak.
    raw = Spd(noisy, pruning=0.0)
    assert raw > 50 * reference["Spd"]
    # At 90 % of Sz only the bumps whose prominence (height above the ~0 background) exceeds the
    # threshold survive; at 99 % only the highest (it has no higher neighbour to join) is left.
    hills = feature_segmentation(noisy, pruning=0.9).hills
    assert hills.count == np.sum(heights > hills.threshold) == 5
    assert feature_segmentation(noisy, pruning=0.99).hills.count == 1


def test_quantised_heights_plateaus_are_not_motifs():
    # Rounding to 10 nm turns the bump flanks into terraces and the background into one flat sheet:
    # flat shelves that drain over their own level are not pits/peaks, even with pruning off.
    z = np.round(bumps(np.full((3, 3), 1e-6)) / 1e-8) * 1e-8
    surface = Surface(z, DX)
    area = (3 * 41 * DX) ** 2
    assert Spd(surface, pruning=0.0) == pytest.approx(9 / area)
    fs = feature_segmentation(surface, pruning=0.0)
    top = z[fs.peaks[:, 0], fs.peaks[:, 1]]
    assert np.all(top == z.max())


def test_area_pruning_joins_small_motifs():
    heights = np.ones((5, 5)) * 1e-6
    heights[2, 2] = 1.5e-6
    surface = Surface(bumps(heights), DX)
    n_all = feature_segmentation(surface).hills.count
    # Each cell is 1/25 of the area: a 5 % minimum joins every hill to another, down to motifs >= 5 %.
    hills = feature_segmentation(surface, min_area=0.05).hills
    assert n_all == 25 and hills.count < n_all
    assert np.all(hills.areas >= 0.05 * (205 * DX) ** 2)


# --------------------------------------------------------------------------------------------------
# invalid points and bad input
# --------------------------------------------------------------------------------------------------

def test_nan_regions_are_barriers_and_excluded():
    z = egg_box()
    z[50:70, 50:70] = np.nan
    surface = Surface(z, DX)
    fs = feature_segmentation(surface)
    L = L_PTS * DX
    for motifs in (fs.hills, fs.dales):
        assert np.all(motifs.labels[np.isnan(z)] == 0)
        assert np.all(motifs.labels[~np.isnan(z)] > 0)
        near = ndimage.binary_dilation(np.isnan(z), structure=np.ones((3, 3), bool)) & ~np.isnan(z)
        touching = np.unique(motifs.labels[near]) - 1
        assert not motifs.complete[touching].any()
        assert 0 < motifs.complete.sum() < 18
    assert fs.valid_area == pytest.approx((z.size - 400) * DX**2)
    assert Sha(surface) == pytest.approx(L**2 / 2, rel=1e-12)
    # Peaks next to the hole are not verified maxima; the others still count.
    peaks_in = [tuple(p) for p in fs.peaks]
    assert all(not (49 <= r <= 70 and 49 <= c <= 70) for r, c in peaks_in)
    # The mean plane is the mean of the valid heights (no longer 0 once the hole is cut).
    assert S5p(surface) == pytest.approx(AMP - np.nanmean(z), rel=1e-12)


def test_nan_next_to_a_peak_removes_only_that_peak():
    z = egg_box()
    peaks = feature_segmentation(Surface(z, DX)).peaks
    r, c = peaks[len(peaks) // 2]
    z[r, c + 1] = np.nan
    fs = feature_segmentation(Surface(z, DX))
    assert fs.peaks.shape[0] == peaks.shape[0] - 1
    assert not any((p == (r, c)).all() for p in fs.peaks)
    assert Spd(Surface(z, DX)) == pytest.approx((peaks.shape[0] - 1) / ((z.size - 1) * DX**2))


def test_bad_input():
    with pytest.raises(InputError):
        Spd(Profile(np.arange(10.0), 1e-6))
    with pytest.raises(ParameterError, match="flat"):
        Spd(Surface(np.zeros((8, 8)), DX))
    with pytest.raises(ParameterError, match="no valid"):
        Spd(Surface(np.full((8, 8), np.nan), DX))
    with pytest.raises(ParameterError, match="3 x 3"):
        Spd(Surface(np.ones((2, 8)), DX))
    with pytest.raises(InputError, match="pruning"):
        Spd(Surface(egg_box(1), DX), pruning=5)
    with pytest.raises(InputError, match="min_area"):
        feature_segmentation(Surface(egg_box(1), DX), min_area=-0.1)
    with pytest.raises(InputError, match="unknown"):
        feature_parameters(Surface(egg_box(1), DX), ["Spd", "Sfoo"])
    with pytest.raises(InputError, match="kind"):
        segment(Surface(egg_box(1), DX), "valleys")
    # A tilted plane: no verified peak inside.
    tilted = Surface(np.add.outer(np.arange(10.0), np.arange(12.0)) * 1e-7, DX)
    assert Spd(tilted) == 0.0
    with pytest.raises(ParameterError, match="no significant peak"):
        S5p(tilted)
    with pytest.raises(ParameterError, match="no significant peak"):
        Spc(tilted)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(3, 20), cols=st.integers(3, 20),
       nan_share=st.floats(0, 1))
def test_random_input_gives_values_or_clear_errors(seed, rows, cols, nan_share):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, cols)) * 1e-6
    z[rng.random((rows, cols)) < nan_share] = np.nan
    surface = Surface(z, DX)
    for name in FEATURE_PARAMETERS:
        try:
            value = feature_parameters(surface, [name])[name]
        except ParameterError:
            continue
        assert math.isfinite(value) and value >= 0


# --------------------------------------------------------------------------------------------------
# invariants and the pruning engine
# --------------------------------------------------------------------------------------------------

def exact_surface(seed: int, rows: int, cols: int) -> np.ndarray:
    """Random smooth-ish heights on a binary grid (multiples of 2^-30 m), so that shifts by multiples of
    2^-30 m and scaling by powers of two are exact and cannot create or break ties."""
    rng = np.random.default_rng(seed)
    raw = ndimage.uniform_filter(rng.integers(0, 2**20, (rows, cols)).astype(float), 2)
    return np.round(raw) * 2.0**-30


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(6, 24), cols=st.integers(6, 24),
       shift=st.integers(-2**22, 2**22), power=st.integers(-4, 4))
def test_invariants(seed, rows, cols, shift, power):
    z = exact_surface(seed, rows, cols)
    names = ["Spd", "S5p", "S5v", "S10z", "Sha", "Sda", "Shv"]

    def params(heights):
        out = {}
        for name in names:
            try:
                out[name] = feature_parameters(Surface(heights, DX), [name])[name]
            except ParameterError:
                out[name] = None
        return out

    base = params(z)
    shifted = params(z + shift * 2.0**-30)
    scaled = params(z * 2.0**power)
    for name in names:
        if base[name] is None:
            assert shifted[name] is None and scaled[name] is None
            continue
        # Heights are relative to the mean plane: a shift changes nothing.
        assert shifted[name] == pytest.approx(base[name], rel=1e-9, abs=1e-30)
        factor = {"Spd": 1, "Sha": 1, "Sda": 1, "Shv": 2.0**power}.get(name, 2.0**power)
        assert scaled[name] == pytest.approx(base[name] * factor, rel=1e-9, abs=1e-30)


def test_scaling_by_any_factor_scales_heights():
    z = exact_surface(3, 64, 64)
    a, b = Surface(z, DX), Surface(z * 3.7, DX)
    assert S10z(b) == pytest.approx(3.7 * S10z(a), rel=1e-9)
    assert Spd(b) == Spd(a)
    assert Sdv(b) == pytest.approx(3.7 * Sdv(a), rel=1e-9)
    assert Sda(b) == pytest.approx(Sda(a), rel=1e-12)


def sequential_wolf(n, pit, a, b, pour, threshold):
    """Plain Wolf pruning, one leaf at a time (ISO 16610-85): repeatedly take the motif with the smallest
    depth (lowest saddle minus pit), join it to the neighbour across that saddle, keep the deeper pit."""
    adjacency = [dict() for _ in range(n)]
    for i, j, s in zip(a.tolist(), b.tolist(), pour.tolist()):
        if s < adjacency[i].get(j, np.inf):
            adjacency[i][j] = s
            adjacency[j][i] = s
    pit = pit.astype(float).copy()
    parent = list(range(n))
    alive = [True] * n

    def lowest(r):
        if not adjacency[r]:
            return np.inf, -1
        j = min(adjacency[r], key=adjacency[r].get)
        return adjacency[r][j], j

    while True:
        best = None
        for r in range(n):
            if alive[r]:
                s, j = lowest(r)
                if j >= 0 and (best is None or s - pit[r] < best[0]):
                    best = (s - pit[r], r, j)
        if best is None or not (best[0] < threshold or best[0] <= 0):
            break
        _, r, j = best
        for k, s in adjacency[r].items():
            if k == j:
                continue
            if s < adjacency[j].get(k, np.inf):
                adjacency[j][k] = s
                adjacency[k][j] = s
            del adjacency[k][r]
        del adjacency[j][r]
        adjacency[r] = {}
        pit[j] = min(pit[j], pit[r])
        alive[r] = False
        parent[r] = j

    def root(r):
        while parent[r] != r:
            r = parent[r]
        return r

    return np.array([root(r) for r in range(n)])


def same_partition(x: np.ndarray, y: np.ndarray) -> bool:
    _, cx = np.unique(x, return_inverse=True)
    _, cy = np.unique(y, return_inverse=True)
    pairs = set(zip(cx.tolist(), cy.tolist()))
    return len(pairs) == len(set(cx.tolist())) == len(set(cy.tolist()))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(2, 9), cols=st.integers(2, 9),
       share=st.floats(0.0, 0.8), extra=st.integers(0, 30))
def test_parallel_rounds_match_sequential_wolf_pruning_on_random_graphs(seed, rows, cols, share, extra):
    # Basins on a grid graph plus random extra links; distinct random pits and saddles (no ties), with
    # each saddle above both pits, as on a real surface.
    rng = np.random.default_rng(seed)
    n = rows * cols
    pit = rng.standard_normal(n)
    index = np.arange(n).reshape(rows, cols)
    a = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel(), rng.integers(0, n, extra)])
    b = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel(), rng.integers(0, n, extra)])
    keep = a != b
    a, b = a[keep].astype(np.int64), b[keep].astype(np.int64)
    pour = np.maximum(pit[a], pit[b]) + rng.exponential(1.0, a.size)
    threshold = share * float(np.ptp(pit) + 1)
    merger = seg_module._Merger(n, pit.copy(), np.arange(n), a, b, pour)
    merger.wolf(threshold)
    expected = sequential_wolf(n, pit, a, b, pour, threshold)
    assert same_partition(merger.motif_of_basin, expected)
    # Survivors keep the deepest pit of their motif and are at least `threshold` deep.
    for motif in range(merger.n):
        assert merger.pit[motif] == pit[merger.motif_of_basin == motif].min()
    lowest, across = seg_module._lowest_saddles(merger.a, merger.b, merger.pour, merger.n)
    assert np.all((lowest - merger.pit >= threshold) | (across < 0))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(4, 18), cols=st.integers(4, 18),
       share=st.floats(0.0, 0.6))
def test_parallel_rounds_keep_the_same_pits_as_sequential_pruning(seed, rows, cols, share):
    # On real basins a pass point can bound three basins (tied saddles); which neighbour a motif joins
    # may then differ, but the set of significant pits (their persistence) may not.
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, cols))
    down = seg_module._steepest_neighbours(z, 1.0, 1.0, which="down")[1]
    labels, n, pit_at = seg_module._basins(down, np.ones(z.shape, bool))
    a, b, pour = seg_module._boundary_pairs(labels, z, False)
    a, b = a.astype(np.int64) - 1, b.astype(np.int64) - 1
    threshold = share * float(np.ptp(z))
    merger = seg_module._Merger(n, z.ravel()[pit_at], pit_at, a, b, pour)
    merger.wolf(threshold)
    roots = sequential_wolf(n, z.ravel()[pit_at], a, b, pour, threshold)
    pits = z.ravel()[pit_at]
    expected = sorted(pits[roots == r].min() for r in np.unique(roots))
    assert sorted(merger.pit.tolist()) == expected


def test_basins_follow_steepest_descent():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((15, 13))
    down = seg_module._steepest_neighbours(z, 1.0, 1.0, which="down")[1]
    labels, n, pit_at = seg_module._basins(down, np.ones(z.shape, bool))
    # Brute force: walk down from every point.
    offsets = seg_module._OFFSETS
    for r in range(15):
        for c in range(13):
            rr, cc = r, c
            while True:
                best, step = 0.0, None
                for dr, dc in offsets:
                    if 0 <= rr + dr < 15 and 0 <= cc + dc < 13:
                        slope = (z[rr, cc] - z[rr + dr, cc + dc]) / math.hypot(dr, dc)
                        if slope > best:
                            best, step = slope, (dr, dc)
                if step is None:
                    break
                rr, cc = rr + step[0], cc + step[1]
            assert labels[r, c] == labels[rr, cc]
            assert pit_at[labels[r, c] - 1] == rr * 13 + cc


def test_workers_do_not_change_the_result():
    z = exact_surface(11, 40, 50)
    one = feature_segmentation(Surface(z, DX), workers=1)
    two = feature_segmentation(Surface(z, DX), workers=2)
    for kind in ("hills", "dales"):
        assert np.array_equal(getattr(one, kind).labels, getattr(two, kind).labels)
    with pytest.raises(InputError, match="workers"):
        feature_segmentation(Surface(z, DX), workers=0)


# --------------------------------------------------------------------------------------------------
# peer: surfalize 0.19.2 (bench extra)
# --------------------------------------------------------------------------------------------------

@pytest.mark.peer
def test_against_surfalize():
    surfalize = pytest.importorskip("surfalize")
    rng = np.random.default_rng(2024)
    n = 256
    z_um = ndimage.gaussian_filter(rng.standard_normal((n, n)), 3, mode="wrap")
    peer = surfalize.Surface(z_um.copy(), 1.0, 1.0)  # micrometres
    surface = Surface(z_um * 1e-6, 1e-6)
    fs = feature_segmentation(surface)
    hills, dales = fs.hills, fs.dales
    # surfalize leaves out every motif that touches the border; restricted to complete motifs, our five
    # highest peaks and five deepest pits are the same points (same mean plane, same Wolf pruning).
    top = np.sort(hills.heights[hills.complete])[::-1][:5].mean()
    bottom = np.sort(-dales.heights[dales.complete])[::-1][:5].mean()
    assert top * 1e6 == pytest.approx(peer.S5p(), rel=1e-9)
    assert bottom * 1e6 == pytest.approx(peer.S5v(), rel=1e-9)
    # Our S5p/S5v also take border hills whose peak lies inside: never lower, close here.
    assert S5p(surface, segmentation=fs) * 1e6 >= peer.S5p() * (1 - 1e-12)
    assert S10z(surface, segmentation=fs) * 1e6 == pytest.approx(peer.S10z(), rel=0.03)
    # Counts of complete hills agree within a few motifs (their descent picks the lowest neighbour, ours
    # the steepest slope); surfalize divides by (n - 1)^2 step^2, we by n^2 step^2.
    complete_count = int(hills.complete.sum())
    peer_count = peer.Spd() * (n - 1) ** 2
    assert abs(complete_count - peer_count) <= max(2, 0.03 * peer_count)
    assert Spc(surface, segmentation=fs) * 1e-6 == pytest.approx(peer.Spc(), rel=0.05)


# --------------------------------------------------------------------------------------------------
# real data
# --------------------------------------------------------------------------------------------------

def test_real_scan_with_invalid_points(topo):
    """Alicona InfiniteFocus scan of rubber (openGPS), 634 x 860 points, about 1 % invalid."""
    from surfsight.io import read

    path = topo / "opengps_x3p" / "KautschukInfiniteFocus.x3p"
    if not path.exists():
        pytest.skip(f"{path} not found")
    surface = read(path)
    z = surface.heights
    rows, cols = np.mgrid[:z.shape[0], :z.shape[1]]
    ok = ~np.isnan(z)
    design = np.c_[np.ones(ok.sum()), cols[ok], rows[ok]]
    coef = np.linalg.lstsq(design, z[ok], rcond=None)[0]
    levelled = surface.with_heights(z - (coef[0] + coef[1] * cols + coef[2] * rows))
    fs = feature_segmentation(levelled)
    params = feature_parameters(levelled, segmentation=fs)
    assert all(math.isfinite(v) and v > 0 for v in params.values())
    assert np.all(fs.hills.labels[~ok] == 0) and np.all(fs.dales.labels[ok] > 0)
    # Significant features are few and coarse next to the raw count of local maxima.
    assert fs.hills.count < Spd(levelled, pruning=0.0) * fs.valid_area / 10
    assert params["S10z"] <= float(np.nanmax(levelled.heights) - np.nanmin(levelled.heights))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(3, 16), cols=st.integers(3, 16),
       share=st.floats(0.0, 0.5), nan_share=st.floats(0.0, 0.3))
def test_seeds_match_scipy_labelling_of_the_sinks(seed, rows, cols, share, nan_share):
    # The fast path (no two sinks touch) and the general path must both number the 8-connected
    # groups of valid sinks as ndimage.label does, with the last point of each group as its pit.
    rng = np.random.default_rng(seed)
    stops = rng.random((rows, cols)) < share
    valid = rng.random((rows, cols)) >= nan_share
    stops |= ~valid  # invalid points point at themselves
    flat_seeds, n, pit_at = seg_module._seeds(stops.ravel(), valid)
    expected, count = ndimage.label(stops & valid, structure=np.ones((3, 3), bool))
    assert n == count
    assert np.array_equal(flat_seeds.reshape(rows, cols), expected)
    for label in range(1, n + 1):
        assert pit_at[label - 1] == np.flatnonzero(expected.ravel() == label).max()


def test_seeds_of_sinks_on_both_sides_of_a_row_end():
    valid = np.ones((4, 5), bool)
    stops = np.zeros((4, 5), bool)
    stops[0, 4] = stops[1, 0] = stops[3, 2] = True  # (0, 4) and (1, 0): flat neighbours, not grid neighbours
    flat_seeds, n, pit_at = seg_module._seeds(stops.ravel(), valid)
    assert n == 3
    assert pit_at.tolist() == [4, 5, 17]
    assert flat_seeds[[4, 5, 17]].tolist() == [1, 2, 3]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), pairs=st.integers(1, 60), n=st.sampled_from([7, 40, 2**31]))
def test_unique_pairs_keep_the_lowest_pass_of_each_pair(seed, pairs, n):
    # n = 2**31 takes the argsort path (keys too wide to pack with their position).
    rng = np.random.default_rng(seed)
    a = rng.integers(0, min(n, 9), pairs)
    b = (a + rng.integers(1, 4, pairs)) % min(n, 9)
    keep = a != b
    a, b = a[keep], b[keep]
    if a.size == 0:
        return
    pour = rng.integers(0, 5, a.size).astype(float)
    low, high, lowest = seg_module._unique_pairs(a, b, pour, n)
    expected = {}
    for x, y, p in zip(a.tolist(), b.tolist(), pour.tolist()):
        key = (min(x, y), max(x, y))
        expected[key] = min(p, expected.get(key, math.inf))
    assert list(zip(low.tolist(), high.tolist())) == sorted(expected)
    assert lowest.tolist() == [expected[k] for k in sorted(expected)]


def test_drainage_matches_the_steepest_neighbours():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((9, 11))
    z[3, 4] = np.nan
    dy, dx = 1.0, 1.7
    up, down = seg_module._steepest_neighbours(z, dy, dx)
    for direction, (target, sink) in zip((up, down), seg_module._drainage(z, dy, dx)):
        offsets = np.array([oy * 11 + ox for oy, ox in seg_module._OFFSETS])
        flat = direction.ravel()
        expected = np.arange(z.size) + np.where(flat >= 0, offsets[flat], 0)
        assert np.array_equal(target, expected)
        assert np.array_equal(sink, flat < 0)

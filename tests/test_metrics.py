import numpy as np

from facegan import metrics


def _smooth_images(n, size=32, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    imgs = []
    for _ in range(n):
        f = rng.uniform(1, 3, 3)
        p = rng.uniform(0, 6, 3)
        imgs.append(np.stack([127 + 100 * np.sin(f[c] * 6 * xx + p[c]) * np.cos(f[c] * 4 * yy) for c in range(3)], -1))
    return np.clip(imgs, 0, 255).astype(np.uint8)


def test_pyramid_has_levels_down_to_16_and_reconstructs():
    assert metrics.swd_resolutions(64) == [64, 32, 16] and metrics.swd_resolutions(128) == [128, 64, 32, 16]
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 32, 32)).astype(np.float32)
    pyr = metrics.laplacian_pyramid(x, 2)
    assert pyr[0].shape == (2, 3, 32, 32) and pyr[1].shape == (2, 3, 16, 16)
    assert np.allclose(pyr[0] + metrics.pyr_up(pyr[1]), x, atol=1e-3)  # Laplacian + upsampled = original


def test_blur_matches_the_5x5_gaussian_with_mirror_padding():
    x = np.zeros((1, 1, 9, 9), np.float32)
    x[0, 0, 4, 4] = 256
    k = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])
    assert np.allclose(metrics._blur(x)[0, 0, 2:7, 2:7], k)
    # Mirror padding reflects about the edge row without repeating it (cv2's BORDER_REFLECT_101):
    # a pixel one row in is seen twice by the edge output (itself and its mirror image).
    edge = np.zeros((1, 1, 5, 5), np.float32)
    edge[0, 0, 1, 2] = 256
    assert np.isclose(metrics._blur(edge)[0, 0, 0, 2], (4 + 4) * 6)
    edge[...] = 0
    edge[0, 0, 0, 2] = 256
    assert np.isclose(metrics._blur(edge)[0, 0, 1, 2], 4 * 6)


def test_descriptor_extraction_matches_a_hand_checked_patch():
    x = np.arange(2 * 3 * 10 * 10, dtype=np.float32).reshape(2, 3, 10, 10)
    rng = np.random.default_rng(5)
    check = np.random.default_rng(5)
    desc = metrics.descriptors(x, rng, nhood_size=3, nhoods_per_image=2)
    cx = check.integers(1, 9, size=(4, 1, 1, 1)).ravel()
    cy = check.integers(1, 9, size=(4, 1, 1, 1)).ravel()
    assert desc.shape == (4, 3, 3, 3)
    for k in range(4):
        img = k // 2
        # As in the reference, x runs along the descriptor's axis 2: each patch is stored transposed
        # (irrelevant to SWD, which projects all 147 values, but it is the reference's layout).
        patch = x[img, :, cy[k] - 1:cy[k] + 2, cx[k] - 1:cx[k] + 2]
        assert np.array_equal(desc[k], patch.transpose(0, 2, 1))


def test_normalisation_is_per_channel_over_the_whole_set():
    desc = np.random.default_rng(0).normal(5, 3, (200, 3, 7, 7)).astype(np.float32)
    out = metrics.finalize_descriptors(desc).reshape(200, 3, 7, 7)
    assert np.allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5) and np.allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)


def test_swd_of_a_set_with_itself_is_about_zero_and_grows_with_a_shift():
    a, b = _smooth_images(256, seed=0), _smooth_images(256, seed=1)
    identical = metrics.swd(metrics.swd_descriptors(a, 1), metrics.swd_descriptors(a, 1))
    same = metrics.swd(metrics.swd_descriptors(a, 1), metrics.swd_descriptors(b, 2))
    noisy = np.clip(b.astype(int) + np.random.default_rng(3).normal(0, 25, b.shape), 0, 255).astype(np.uint8)
    shifted = metrics.swd(metrics.swd_descriptors(a, 1), metrics.swd_descriptors(noisy, 2))
    assert identical["SWDx1e3_avg"] == 0.0
    assert set(same) == {"SWDx1e3_32", "SWDx1e3_16", "SWDx1e3_avg"}
    # Two samples of one distribution differ only by sampling noise (measured 22); noise added to
    # the images moves the fine level's patches (measured 67).
    assert shifted["SWDx1e3_avg"] > 2 * same["SWDx1e3_avg"]


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    s = np.cov(rng.normal(size=(500, 4)), rowvar=False)
    assert abs(metrics.frechet_distance(mu1=np.zeros(4), sigma1=s, mu2=np.zeros(4), sigma2=s)) < 1e-8
    assert np.isclose(metrics.frechet_distance(mu1=np.zeros(2), sigma1=np.eye(2), mu2=np.ones(2),
                                               sigma2=4 * np.eye(2)), 2 + 2 * (1 + 4 - 4))


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    assert abs(metrics.kid(x, y, subsets=5, subset_size=200)[0]) < 0.05
    assert metrics.kid(x, y + 1.0, subsets=5, subset_size=200)[0] > 0.5


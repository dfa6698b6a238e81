"""The likelihood pieces of MaskedVAE that the file size rests on, against scipy."""

import numpy as np
import pandas as pd
import torch
from scipy import stats

from vaetools.model import Batch, MaskedVAE, Particles
from vaetools.model.vae import log_normal_mass
from vaetools.tabular import TableEncoder, infer_schema


def log_mass(a, b):
    """log(Phi(b) - Phi(a)) by scipy, from whichever tail keeps it accurate."""
    return np.log(stats.norm.sf(a) - stats.norm.sf(b)) if a > 0 else np.log(stats.norm.cdf(b) - stats.norm.cdf(a))


def test_log_normal_mass_matches_scipy_in_the_body_and_both_tails():
    pairs = [(-1.0, 1.0), (0.5, 0.7), (8.0, 8.5), (-12.0, -11.0), (-0.2, 3e-5), (30.0, 31.0), (-1e4, -1.0)]
    a, b = (torch.tensor(v, dtype=torch.float64) for v in zip(*pairs))
    got = log_normal_mass(a, b).numpy()
    np.testing.assert_allclose(got, [log_mass(x, y) for x, y in pairs], rtol=1e-6)
    assert np.all(got <= 0)


def test_binned_likelihood_is_the_bins_mass_and_has_finite_gradients():
    model = MaskedVAE(2, 0, [], latent_dim=2, hidden=(8,)).double()
    loc = torch.tensor([[0.0, 3.0]], dtype=torch.float64, requires_grad=True)
    scale = torch.tensor([[1.0, 1e-3]], dtype=torch.float64)
    x = torch.tensor([[0.2, -50.0]], dtype=torch.float64)
    edges = torch.stack([x - 0.5, x + 0.5], -1)
    edges[0, 1, 0] = -1e4  # a lopsided bin reaching far left, as log1p columns have near 0
    lp = model.binned_log_prob({"loc": loc, "scale": scale}, x, edges)
    assert np.isclose(lp[0, 0].item(), log_mass(-0.3, 0.7))
    assert lp[0, 1].item() < -1000  # 53000 standard deviations away: clamped, not -inf
    lp.sum().backward()
    assert torch.isfinite(loc.grad).all()
    # a bin far narrower than the scale costs the density times its width
    tiny = torch.stack([x - 1e-7, x + 1e-7], -1)
    lp = model.binned_log_prob({"loc": loc.detach(), "scale": torch.ones_like(scale)}, x, tiny)
    np.testing.assert_allclose(lp[0, 0].item(), stats.norm.logpdf(0.2) + np.log(2e-7), rtol=1e-6)


def test_latent_rate_is_the_priors_mass_of_the_rounding_bin():
    model = MaskedVAE(1, 0, [], latent_dim=3, hidden=(8,), latent_step=0.5).double()
    with torch.no_grad():
        model.prior_loc.copy_(torch.tensor([0.0, 1.0, -2.0]))
        model.prior_log_scale.copy_(torch.log(torch.tensor([1.0, 2.0, 0.5])))
    y = torch.tensor([[0.25, 1.0, 4.0]], dtype=torch.float64)
    want = -sum(log_mass((v - 0.25 - m) / s, (v + 0.25 - m) / s)
                for v, m, s in zip([0.25, 1.0, 4.0], [0.0, 1.0, -2.0], [1.0, 2.0, 0.5]))
    np.testing.assert_allclose(model.latent_rate(y).item(), want, rtol=1e-6)


def test_bin_edges_follow_the_column_transform():
    df = pd.DataFrame({"x": [1.0, 2.0, 4.0, 8.0], "gain": [0.0, 0.0, 10.0, 100000.0]})
    specs = infer_schema(df, {}, 100)
    enc = TableEncoder(specs).fit(df)
    table = enc.encode(df)
    steps = {0: 1.0, 1: 4.0}
    edges = enc.bin_edges(table, steps).astype(np.float64)
    sx = specs[0]
    np.testing.assert_allclose(edges[:, 0, 0] * sx.std + sx.mean, df["x"] - 0.5, rtol=1e-6)
    np.testing.assert_allclose(edges[:, 0, 1] * sx.std + sx.mean, df["x"] + 0.5, rtol=1e-6)
    g = specs[1]
    if g.transform == "log1p":
        upper = np.expm1(edges[:, 1, 1] * g.std + g.mean)
        np.testing.assert_allclose(upper, df["gain"] + 2.0, rtol=1e-4)
        assert (edges[:2, 1, 0] == -1e4).all()  # 0 - 2 is below -1: no lower limit
    assert (edges[:, :, 0] < edges[:, :, 1]).all()
    # columns without a step get empty bins (the likelihood falls back to the density)
    empty = enc.bin_edges(table, {0: 1.0})
    assert (empty[:, 1, 0] == empty[:, 1, 1]).all()


def test_model_without_categorical_columns_builds_and_imputes():
    model = MaskedVAE(n_num=2, n_bin=1, cat_sizes=[])
    b = Batch(num=torch.zeros(3, 2), bin=torch.zeros(3, 1), cat=torch.zeros(3, 0, dtype=torch.int64),
              m_num=torch.ones(3, 2), m_bin=torch.zeros(3, 1), m_cat=torch.zeros(3, 0))
    post = Particles(model, 3, 4).decode(b, torch.randn(4, model.latent_dim)).posterior()
    assert post.num.shape == (3, 2) and post.cat == [] and torch.isfinite(post.bin).all()


def test_categorical_normalizers_equal_each_columns_logsumexp_even_far_from_zero():
    """Training reads categorical normalizers and their gradients off ``cat_log_norms``; they
    must equal the plain per-column logsumexp, also for logits whose columns sit far apart
    (softmax is shift-free per column, so nothing keeps them near 0). The imputer's path has
    its own test (tests/test_particles.py)."""
    model = MaskedVAE(n_num=1, n_bin=0, cat_sizes=[3, 1, 5])
    logits = torch.randn(4, 6, 9, dtype=torch.float64) * 3
    logits[..., :3] += 700.0  # exp would overflow without a shift
    logits[..., 4:] -= 700.0  # and underflow to 0 with a shift shared across columns
    logits.requires_grad_(True)
    trained = model.cat_log_norms(logits)  # the training path, with gradients
    trained.sum().backward()
    for c, sl in enumerate(model.cat_slices()):
        expected = torch.softmax(logits[..., sl], -1)
        lse = torch.logsumexp(logits[..., sl], -1)
        torch.testing.assert_close(trained[..., c], lse)
        torch.testing.assert_close(logits.grad[..., sl], expected)  # d logsumexp = softmax


def test_autoregressive_branch_sees_only_the_columns_before_each_column():
    # numeric, binary and categorical columns in a scrambled coding order: changing the inputs of
    # a column must leave the predictions of that column and of every column before it unchanged
    torch.manual_seed(0)
    order = [3, 0, 4, 2, 1]  # model columns: num 0, num 1, bin 2, cat 3 (3 levels), cat 4 (2 levels)
    model = MaskedVAE(2, 1, [3, 2], latent_dim=2, hidden=(8,), ar_hidden=12, ar_order=order)
    for p in model.parameters():  # untrained branches start near zero; make every path count
        torch.nn.init.normal_(p)
    in_cols = [0, 1, 2, 3, 3, 3, 4, 4, 0, 1, 2, 3, 4]  # encoder_input layout: values, one-hots, masks
    out_cols = {"loc": [0, 1], "scale": [0, 1], "bin_logit": [2], "cat_logit": [3, 3, 3, 4, 4]}
    z = torch.randn(1, 6, 2)
    ctx = torch.randn(6, len(in_cols))
    base = model.decode(z, ctx)
    for pos, col in enumerate(order):
        bumped = ctx.clone()
        bumped[:, [i for i, c in enumerate(in_cols) if c == col]] += 5.0
        out = model.decode(z, bumped)
        for key, cols in out_cols.items():
            for i, c in enumerate(cols):
                changed = not torch.allclose(out[key][..., i], base[key][..., i])
                assert changed == (order.index(c) > pos), (key, c, col)


def test_updating_the_encoder_input_column_by_column_equals_building_it_again():
    # the codec decodes column by column and rewrites only the revealed column's entries
    torch.manual_seed(0)
    model = MaskedVAE(2, 1, [3, 2], latent_dim=2, hidden=(8,)).double()
    n = 7
    full = Batch(num=torch.randn(n, 2, dtype=torch.float64), bin=torch.randint(0, 2, (n, 1)).double(),
                 cat=torch.stack([torch.randint(0, 3, (n,)), torch.randint(0, 2, (n,))], 1),
                 m_num=torch.randint(0, 2, (n, 2)).double(), m_bin=torch.randint(0, 2, (n, 1)).double(),
                 m_cat=torch.randint(0, 2, (n, 2)).double())
    revealed = Batch(num=full.num.clone(), bin=full.bin.clone(), cat=full.cat.clone(), m_num=torch.zeros(n, 2,
                     dtype=torch.float64), m_bin=torch.zeros(n, 1, dtype=torch.float64),
                     m_cat=torch.zeros(n, 2, dtype=torch.float64))
    x = model.encoder_input(revealed)
    for kind, c in [("cat", 1), ("num", 0), ("bin", 0), ("cat", 0), ("num", 1)]:
        mask = {"num": revealed.m_num, "bin": revealed.m_bin, "cat": revealed.m_cat}[kind]
        mask[:, c] = {"num": full.m_num, "bin": full.m_bin, "cat": full.m_cat}[kind][:, c]
        model.update_encoder_input(x, revealed, kind, c)
        assert torch.equal(x, model.encoder_input(revealed)), (kind, c)
    assert torch.equal(x, model.encoder_input(full))


def test_autoregressive_branch_ignores_values_outside_ar_inputs_but_reads_their_missingness():
    torch.manual_seed(0)
    model = MaskedVAE(2, 0, [3], latent_dim=2, hidden=(8,), ar_hidden=8, ar_order=[0, 1, 2], ar_inputs=[1, 2])
    for p in model.parameters():
        torch.nn.init.normal_(p)
    z, ctx = torch.randn(1, 4, 2), torch.randn(4, 2 + 3 + 3)  # values of num 0, num 1, one-hots, masks
    base = model.decode(z, ctx)
    value_bumped, mask_bumped = ctx.clone(), ctx.clone()
    value_bumped[:, 0] += 5.0  # column 0's value: not an input
    mask_bumped[:, 5] += 5.0  # column 0's mask bit
    assert torch.equal(model.decode(z, value_bumped)["cat_logit"], base["cat_logit"])
    assert not torch.allclose(model.decode(z, mask_bumped)["cat_logit"], base["cat_logit"])


def test_rate_weight_weighs_the_whole_file_size_against_the_unstored_distortion():
    # the code and the categorical cells are bytes in the file; a numeric cell stored without a
    # bound is not, half its squared error is the distortion. rate_weight (beta) scales the bytes
    torch.manual_seed(0)
    model = MaskedVAE(1, 0, [3], latent_dim=2, hidden=(8,), latent_step=1.0)
    b = Batch(num=torch.randn(5, 1), bin=torch.zeros(5, 0), cat=torch.tensor([[0], [1], [2], [0], [1]]),
              m_num=torch.ones(5, 1), m_bin=torch.zeros(5, 0), m_cat=torch.ones(5, 1))
    for beta in (1.0, 0.1):
        torch.manual_seed(1)
        loss = model.rate_distortion_loss(b, beta)
        torch.manual_seed(1)  # the same uniform noise
        mu, _ = model.encode(b)
        y = mu + (torch.rand_like(mu) - 0.5) * model.latent_step
        p = model.decode(y.unsqueeze(0))
        size = model.latent_rate(y) - model.cat_log_probs(p["cat_logit"], b.cat)[0, :, 0]
        distortion = 0.5 * (b.num - p["loc"])[0, :, 0] ** 2
        assert torch.allclose(loss, (beta * size + distortion).mean())


def test_linear_paths_start_at_zero_add_to_the_networks_and_leave_their_init_unchanged():
    torch.manual_seed(0)
    plain = MaskedVAE(2, 1, [3], latent_dim=2, hidden=(8,))
    torch.manual_seed(0)
    model = MaskedVAE(2, 1, [3], latent_dim=2, hidden=(8,), linear_skip=True)
    # the same seed gives the same networks with or without the paths
    for name, tensor in plain.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    z = torch.randn(1, 5, 2)
    assert torch.equal(model.decode(z)["loc"], plain.decode(z)["loc"])  # zero at the start
    b = Batch(num=torch.randn(5, 2), bin=torch.ones(5, 1), cat=torch.zeros(5, 1, dtype=torch.int64),
              m_num=torch.ones(5, 2), m_bin=torch.ones(5, 1), m_cat=torch.ones(5, 1))
    with torch.no_grad():
        model.decoder_skip.weight.normal_()
        model.encoder_skip.weight.normal_()
    x = model.encoder_input(b)
    mu, _ = model.encode(b)
    torch.testing.assert_close(mu, (model.encoder(x) + x @ model.encoder_skip.weight.T)[:, :2])
    out = model.decoder(z) + z @ model.decoder_skip.weight.T
    torch.testing.assert_close(model.decode(z)["loc"], out[..., :2])
    torch.testing.assert_close(model.decode(z)["cat_logit"], out[..., -3:])


def test_a_fixed_numeric_scale_holds_whatever_the_latent_and_the_earlier_columns():
    torch.manual_seed(0)
    model = MaskedVAE(2, 1, [3], latent_dim=2, hidden=(8,), ar_hidden=6, linear_skip=True)
    for p in model.parameters():  # every path that could reach the scale counts
        torch.nn.init.normal_(p)
    model.fix_numeric_scale(1, 0.37)
    z, ctx = torch.randn(1, 5, 2), torch.randn(5, 2 + 1 + 3 + 4)  # values, one-hots, masks
    scale = model.decode(z, ctx)["scale"]
    torch.testing.assert_close(scale[..., 1], torch.full((1, 5), 0.37))
    assert scale[..., 0].std() > 0.01  # the other column keeps its own

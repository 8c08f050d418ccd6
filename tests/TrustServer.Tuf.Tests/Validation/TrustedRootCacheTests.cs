using TrustServer.Testing;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>
/// The memo of stored-root validation: reused for the same bytes and GUN while no certificate crosses an expiry
/// boundary, re-validated (and then rejected) once one does, never shared across GUNs, failures never kept.
/// </summary>
public sealed class TrustedRootCacheTests
{
    private const string Gun = TestRepository.DefaultGun;

    [Fact]
    public void SameRootAndGun_WithinTheCertificateWindow_ValidatedOnce()
    {
        using var repo = new TestRepository();
        var cache = new TrustedRootCache();
        var now = repo.Clock.Now;
        var root = repo.Root(1);

        var first = cache.Validate(SignedEnvelope.Parse(root), Gun, now);

        Assert.Same(first, cache.Validate(SignedEnvelope.Parse(root), Gun, now.AddDays(30)));
    }

    [Fact]
    public void CertificateExpiredSinceCaching_RevalidatedAndRejected()
    {
        using var repo = new TestRepository();
        var now = repo.Clock.Now;
        using var shortLived = CertificateSigner.Create(Gun, new TestCertificateOptions { NotBefore = now.AddDays(-1), NotAfter = now.AddDays(1) });
        var root = TestRepository.Sign(repo.RootBody(1, [shortLived]), shortLived);
        var cache = new TrustedRootCache();
        var accepted = cache.Validate(SignedEnvelope.Parse(root), Gun, now);
        Assert.Same(accepted, cache.Validate(SignedEnvelope.Parse(root), Gun, now.AddHours(23)));

        var error = Assert.Throws<TufFormatException>(() => cache.Validate(SignedEnvelope.Parse(root), Gun, now.AddDays(1).AddSeconds(1)));
        Assert.Contains("unable to retrieve valid leaf certificates", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CertificateNotYetValidWhenFirstSeen_AcceptedOnceItIs()
    {
        using var repo = new TestRepository();
        var now = repo.Clock.Now;
        using var future = CertificateSigner.Create(Gun, new TestCertificateOptions { NotBefore = now.AddDays(3), NotAfter = now.AddDays(30) });
        var root = TestRepository.Sign(repo.RootBody(1, [future]), future);
        var cache = new TrustedRootCache();

        Assert.Throws<TufFormatException>(() => cache.Validate(SignedEnvelope.Parse(root), Gun, now));

        // NotBefore less the one day of leeway has passed.
        Assert.NotNull(cache.Validate(SignedEnvelope.Parse(root), Gun, now.AddDays(2).AddSeconds(1)));
    }

    [Fact]
    public void SameRootForAnotherGun_ValidatedForThatGun()
    {
        using var repo = new TestRepository();
        var cache = new TrustedRootCache();
        var root = repo.Root(1);
        cache.Validate(SignedEnvelope.Parse(root), Gun, repo.Clock.Now);

        // The leaf's common name names the GUN: the cached acceptance does not carry over.
        var error = Assert.Throws<TufFormatException>(() => cache.Validate(SignedEnvelope.Parse(root), "example.com/other/repo", repo.Clock.Now));
        Assert.Contains("unable to retrieve valid leaf certificates", error.Message, StringComparison.Ordinal);
    }
}

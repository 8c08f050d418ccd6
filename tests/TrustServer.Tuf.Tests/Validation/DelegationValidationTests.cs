using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using TrustServer.Testing;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>
/// Delegated targets roles (spec validation.md §4.2): ancestors from storage, the delegation must exist in the
/// loaded parent chain, delegation certificates, structure before signatures, expiry, what is not checked.
/// </summary>
public sealed class DelegationValidationTests
{
    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    [InlineData(KeyType.Rsa)]
    [InlineData(KeyType.EcdsaX509)]
    [InlineData(KeyType.RsaX509)]
    public async Task Delegation_AnySupportedKeyType_Accepted(string keyType)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = Key(keyType);
        Assert.Equal(keyType, key.PublicKey.KeyType);
        await DelegateAsync(repo, new Delegation("targets/a", [key], Paths: [""]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1, ["app"]), key)));

        UpdateAssert.Accepted(result, "targets/a", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Delegation_UploadedWithItsParent_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = KeySigner.Ecdsa();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(
            ("targets/a", TestRepository.Sign(repo.TargetsBody(1), key)), ("targets", repo.Targets(2, delegations: [new Delegation("targets/a", [key])])));

        UpdateAssert.Accepted(result, "targets", "targets/a", "snapshot", "timestamp");
    }

    // ---- the delegation must exist in the loaded chain ----

    [Fact]
    public async Task Delegation_NotDelegatedByTargets_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = KeySigner.Ecdsa();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), key)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "tuf: invalid role targets/a. delegation does not exist");
    }

    [Fact]
    public async Task Delegation_ParentMissingFromStorage_Rejected()
    {
        // targets delegates targets/a, but no targets/a file exists: the parent is skipped and the child does not exist.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));

        var result = await repo.PublishAsync(("targets/a/b", TestRepository.Sign(repo.TargetsBody(1), ab)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "tuf: invalid role targets/a/b. delegation does not exist");
    }

    [Fact]
    public async Task Delegation_StoredParentDoesNotDelegateIt_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));
        UpdateAssert.Accepted(await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), a))), "targets/a", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("targets/a/b", TestRepository.Sign(repo.TargetsBody(1), ab)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "tuf: invalid role targets/a/b. delegation does not exist");
    }

    [Fact]
    public async Task Delegation_RemovedByTheTargetsUploadedWithIt_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));

        var result = await repo.PublishAsync(("targets", repo.Targets(3)), ("targets/a", TestRepository.Sign(repo.TargetsBody(1), a)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "tuf: invalid role targets/a. delegation does not exist");
    }

    [Fact]
    public async Task Delegation_StoredAncestorNoLongerDelegated_RejectedWithoutDetail()
    {
        // The stored targets/a fails to load (targets dropped it): a load error of an ancestor is returned as is.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));
        var roleA = TestRepository.Sign(repo.TargetsBody(1, delegations: [new Delegation("targets/a/b", [ab])]), a);
        UpdateAssert.Accepted(await repo.PublishAsync(("targets/a", roleA)), "targets/a", "snapshot", "timestamp");
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(3))), "targets", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("targets/a/b", TestRepository.Sign(repo.TargetsBody(1), ab)));

        UpdateAssert.RejectedWithoutDetail(result);
    }

    [Fact]
    public async Task Delegation_WithoutAnyTargets_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        var state = RepositoryState.Empty.With("root", repo.Root());

        var result = await repo.ValidateAsync(state, ("targets/a", TestRepository.Sign(repo.TargetsBody(1), a)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "targets must be loaded first");
    }

    [Fact]
    public async Task Delegation_StoredAncestorsAreLoadedWithoutExpiryCheck()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var soon = repo.Clock.Now.AddDays(1);
        var targets = TestRepository.Sign(repo.TargetsBody(2, delegations: [new Delegation("targets/a", [a])], expires: soon), repo.TargetsKey);
        var roleA = TestRepository.Sign(repo.TargetsBody(1, delegations: [new Delegation("targets/a/b", [ab])], expires: soon), a);
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", targets), ("targets/a", roleA)), "targets", "targets/a", "snapshot", "timestamp");
        repo.Clock.Now = repo.Clock.Now.AddDays(2);

        var result = await repo.PublishAsync(("targets/a/b", TestRepository.Sign(repo.TargetsBody(1), ab)));

        UpdateAssert.Accepted(result, "targets/a/b", "snapshot", "timestamp");
    }

    // ---- thresholds ----

    [Fact]
    public async Task Delegation_ThresholdTwo_NeedsTwoDistinctKeys()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var first = KeySigner.Ecdsa();
        using var second = KeySigner.Ed25519();
        await DelegateAsync(repo, new Delegation("targets/a", [first, second], Threshold: 2));
        var body = repo.TargetsBody(1);

        var one = await repo.PublishAsync(("targets/a", TestRepository.Sign(body, first)));
        var sameTwice = await repo.PublishAsync(("targets/a", TestRepository.Sign(body, first, first)));
        var parentKey = await repo.PublishAsync(("targets/a", TestRepository.Sign(body, first, repo.TargetsKey)));
        var both = await repo.PublishAsync(("targets/a", TestRepository.Sign(body, first, second)));

        UpdateAssert.Rejected(one, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets/a");
        UpdateAssert.Rejected(sameTwice, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets/a");
        UpdateAssert.Rejected(parentKey, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets/a");
        UpdateAssert.Accepted(both, "targets/a", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Delegation_WithoutSignatures_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));

        var result = await repo.PublishAsync(("targets/a", Envelope.Assemble(repo.TargetsBody(1))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "tuf: data has no signatures");
    }

    // ---- delegation certificates: no SHA-1, RSA ≥ 2048, sane window; never expiry ----

    [Fact]
    public async Task Delegation_CertificateSignedWithSha1_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = CertificateSigner.Create("delegation-key", new TestCertificateOptions { SignatureHash = HashAlgorithmName.SHA1 });
        await DelegateAsync(repo, new Delegation("targets/a", [key]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), key)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "certificate with CN delegation-key uses invalid SHA1 signature algorithm");
    }

    [Fact]
    public async Task Delegation_RsaCertificateBelow2048Bits_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = CertificateSigner.Create("small", new TestCertificateOptions { KeyAlgorithm = TestKeyAlgorithm.Rsa, RsaKeySize = 1024 });
        await DelegateAsync(repo, new Delegation("targets/a", [key]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), key)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "RSA bit length is too short");
    }

    [Fact]
    public async Task Delegation_CertificateWithInvertedValidityWindow_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var certificate = CertificateSigner.Create("inverted");
        var key = new RekeyedSigner(certificate, new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(InvertValidity(certificate.Certificate.Certificate))));
        await DelegateAsync(repo, new Delegation("targets/a", [key]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), key)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "certificate validity window is invalid");
    }

    [Fact]
    public async Task Delegation_EveryKeyOfTheRoleIsCertificateChecked()
    {
        // The bad certificate belongs to the role but does not sign; the role is still refused.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var good = KeySigner.Ecdsa();
        using var sha1 = CertificateSigner.Create("weak", new TestCertificateOptions { SignatureHash = HashAlgorithmName.SHA1 });
        await DelegateAsync(repo, new Delegation("targets/a", [good, sha1]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), good)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "certificate with CN weak uses invalid SHA1 signature algorithm");
    }

    [Theory]
    [InlineData(-30, -1)] // expired
    [InlineData(30, 3650)] // not valid yet
    public async Task Delegation_CertificateValidityIsNotChecked(int notBeforeDays, int notAfterDays)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var now = repo.Clock.Now;
        using var key = CertificateSigner.Create(
            "any cn", new TestCertificateOptions { KeyAlgorithm = TestKeyAlgorithm.Rsa, NotBefore = now.AddDays(notBeforeDays), NotAfter = now.AddDays(notAfterDays) });
        await DelegateAsync(repo, new Delegation("targets/a", [key]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), key)));

        UpdateAssert.Accepted(result, "targets/a", "snapshot", "timestamp");
    }

    // ---- structure and version before signatures, expiry last ----

    [Fact]
    public async Task Delegation_StructureIsCheckedBeforeSignatures()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var stranger = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));

        var wrongType = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1).With("_type", new JsonString("Snapshot")), stranger)));
        var versionZero = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(0), stranger)));

        UpdateAssert.Rejected(wrongType, ValidationErrorKind.BadTargets, "targets/a type metadata invalid: expected type Targets, not Snapshot");
        UpdateAssert.Rejected(versionZero, ValidationErrorKind.BadTargets, "targets/a type metadata invalid: version cannot be less than one");
    }

    [Fact]
    public async Task Delegation_DelegatingANonChild_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var b = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1, delegations: [new Delegation("targets/b", [b])]), a)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "targets/a type metadata invalid: delegation role targets/b invalid");
    }

    [Fact]
    public async Task Delegation_Expired_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var stranger = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a]));
        var expired = repo.TargetsBody(1).Expiring("2020-01-02T03:04:05Z");

        var signed = await repo.PublishAsync(("targets/a", TestRepository.Sign(expired, a)));
        var unsigned = await repo.PublishAsync(("targets/a", TestRepository.Sign(expired, stranger)));

        UpdateAssert.Rejected(signed, ValidationErrorKind.BadTargets, "targets/a expired at Thu Jan 2 03:04:05 UTC 2020");
        UpdateAssert.Rejected(unsigned, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets/a");
    }

    // ---- not checked: paths ----

    [Fact]
    public async Task Delegation_WithoutPaths_IsAccepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a], Paths: null));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1, ["anything"]), a)));

        UpdateAssert.Accepted(result, "targets/a", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Delegation_TargetsOutsideItsPaths_AreAccepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a], Paths: ["releases/"]));

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1, ["elsewhere/file"]), a)));

        UpdateAssert.Accepted(result, "targets/a", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Delegation_ChildPathsOutsideParentPaths_AreAccepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ecdsa();
        await DelegateAsync(repo, new Delegation("targets/a", [a], Paths: ["a/"]));
        var roleA = TestRepository.Sign(repo.TargetsBody(1, delegations: [new Delegation("targets/a/b", [ab], Paths: ["z/"])]), a);
        UpdateAssert.Accepted(await repo.PublishAsync(("targets/a", roleA)), "targets/a", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("targets/a/b", TestRepository.Sign(repo.TargetsBody(1, ["z/file"]), ab)));

        UpdateAssert.Accepted(result, "targets/a/b", "snapshot", "timestamp");
    }

    // Publishes targets v2 delegating the given roles (server-managed snapshot).
    private static async Task DelegateAsync(TestRepository repo, params Delegation[] delegations)
    {
        await repo.InitializeAsync();
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(2, delegations: delegations))), "targets", "snapshot", "timestamp");
    }

    private static DisposableSigner Key(string keyType) => keyType switch
    {
        KeyType.Ecdsa => new(KeySigner.Ecdsa()),
        KeyType.Ed25519 => new(KeySigner.Ed25519()),
        KeyType.Rsa => new(new RsaKeySigner()),
        KeyType.EcdsaX509 => new(CertificateSigner.Create("delegation")),
        KeyType.RsaX509 => new(CertificateSigner.Create("delegation", new TestCertificateOptions { KeyAlgorithm = TestKeyAlgorithm.Rsa })),
        _ => throw new ArgumentOutOfRangeException(nameof(keyType)),
    };

    // The certificate with its notBefore and notAfter swapped (its own signature no longer matters: nothing checks it).
    private static string InvertValidity(X509Certificate2 certificate)
    {
        var der = certificate.RawData;
        var validity = der.AsSpan().IndexOf(new byte[] { 0x30, 0x1E, 0x17, 0x0D });
        Assert.True(validity > 0, "expected a UTCTime validity");
        var notBefore = der.AsSpan(validity + 4, 13).ToArray();
        var notAfter = der.AsSpan(validity + 4 + 15, 13).ToArray();
        notAfter.CopyTo(der, validity + 4);
        notBefore.CopyTo(der, validity + 4 + 15);
        return PemEncoding.WriteString("CERTIFICATE", der) + "\n";
    }

    private sealed class DisposableSigner(IMetadataSigner inner) : IMetadataSigner, IDisposable
    {
        public TufPublicKey PublicKey => inner.PublicKey;

        public TufSignature Sign(byte[] canonical) => inner.Sign(canonical);

        public void Dispose() => (inner as IDisposable)?.Dispose();
    }
}

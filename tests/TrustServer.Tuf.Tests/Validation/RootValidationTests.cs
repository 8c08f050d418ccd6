using System.Security.Cryptography;
using System.Text;
using TrustServer.Testing;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>Root uploads, rule by rule (spec validation.md §3: version rule, root validation, rotation, no root).</summary>
public sealed class RootValidationTests
{
    private const string Gun = TestRepository.DefaultGun;
    private const string NoValidLeaf = "could not validate the path to a trusted root: unable to retrieve valid leaf certificates";
    private const string IntegrityFailed = "could not validate the path to a trusted root: failed to validate integrity of roots";
    private const string RotationFailed = "could not rotate trust to a new trusted root: failed to validate data with current trusted certificates";

    // ---- §3.1 version rule ----

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task NewRepository_RootVersionOneOrTwo_Accepted(long version)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(version), repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
        Assert.Equal(version, UpdateAssert.File(result, "root").Version);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(100)]
    public async Task NewRepository_RootVersionOtherThanOneOrTwo_Rejected(long version)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(version), repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, $"Root modifications must increment the version. Current 1, new {version}");
    }

    [Fact]
    public async Task ExistingRepository_RootCurrentPlusOne_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("root", repo.Root(2)));

        UpdateAssert.Accepted(result, "root", "snapshot", "timestamp");
    }

    [Fact]
    public async Task ExistingRepository_RootSkippingAVersion_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        UpdateAssert.Accepted(await repo.PublishAsync(("root", repo.Root(2))), "root", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("root", repo.Root(4)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, "Root modifications must increment the version. Current 2, new 4");
    }

    [Fact]
    public async Task ExistingRepository_RootJumpFromOneToThree_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("root", repo.Root(3)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, "Root modifications must increment the version. Current 1, new 3");
    }

    [Fact]
    public async Task ExistingRepository_SameRootVersion_PassesTheRootRuleButNotStorage()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        // Version == current passes §3.1; the storage rule (§10.2) then refuses it.
        var result = await repo.PublishAsync(("root", repo.Root(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.OldVersion, "root version 1 is not greater than the stored version 1");
    }

    // ---- §3.2 step 1: structure ----

    [Fact]
    public async Task Root_WrongType_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var root = TestRepository.Sign(repo.RootBody().With("_type", new JsonString("Targets")), repo.RootSigner);

        var result = await repo.PublishAsync(("root", root), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, "root type metadata invalid: expected type Root, not Targets");
    }

    [Theory]
    [InlineData("root")]
    [InlineData("targets")]
    [InlineData("snapshot")]
    [InlineData("timestamp")]
    public async Task Root_MissingBaseRole_Rejected(string role)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var body = repo.RootBody();
        body.Set("roles", body.Object("roles").Without(role));

        var result = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, $"root type metadata invalid: missing {role} role specification");
    }

    [Fact]
    public async Task Root_NullRoleEntry_CountsAsMissing()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var body = repo.RootBody();
        body.Object("roles").Set("snapshot", JsonLiteral.Null());

        var result = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, "root type metadata invalid: missing snapshot role specification");
    }

    [Theory]
    [InlineData("root", 0)]
    [InlineData("targets", 0)]
    [InlineData("snapshot", -1)]
    [InlineData("timestamp", 0)]
    public async Task Root_ThresholdBelowOne_Rejected(string role, long threshold)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var body = repo.RootBody();
        body.Object("roles").Object(role).Set("threshold", new JsonNumber(threshold));

        var result = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner)), ("targets", repo.Targets(1)));

        // Notary's message has a trailing space.
        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, $"root type metadata invalid: invalid threshold specified for {role}: {threshold} ");
    }

    [Fact]
    public async Task Root_RoleListsKeyMissingFromKeys_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stray = KeySigner.Ecdsa();
        var body = repo.RootBody();
        body.Object("roles").Set("timestamp", TestRepository.RoleEntry([repo.TimestampKey, stray], 1));

        var result = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(
            result, ValidationErrorKind.BadRoot, $"root type metadata invalid: key ID {stray.PublicKey.Id} specified in timestamp without corresponding key");
    }

    [Fact]
    public async Task Root_ExtraRoleNames_AreTolerated()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var mirror = KeySigner.Ecdsa();
        var body = repo.RootBody().WithRole("mirror", 1, mirror);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
    }

    // ---- §3.2 step 2: root-role keys must be certificate bundles with one leaf, first ----

    [Fact]
    public async Task Root_PlainEcdsaRootKey_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var plain = KeySigner.Ecdsa();

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [plain]), plain)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Fact]
    public async Task Root_CaCertificateAsRootKey_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var ca = CertificateSigner.Create(Gun, new TestCertificateOptions { IsCertificateAuthority = true });

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [ca]), ca)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Fact]
    public async Task Root_BundleWithCaBeforeLeaf_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var leaf = CertificateSigner.Create(Gun, issuer: ca);
        var bundle = new RekeyedSigner(leaf, new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(ca.CertificatePem + leaf.Certificate.CertificatePem)));

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [bundle]), bundle)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Fact]
    public async Task Root_BundleWithTwoLeaves_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var other = CertificateSigner.Create(Gun);
        var bundle = new RekeyedSigner(
            repo.RootSigner,
            new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(repo.RootSigner.Certificate.CertificatePem + other.Certificate.CertificatePem)));

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [bundle]), bundle)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Fact]
    public async Task Root_BundleWithNonCertificateBlock_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var publicKeyPem = repo.RootSigner.Certificate.Certificate.PublicKey.ExportSubjectPublicKeyInfo();
        var pem = repo.RootSigner.Certificate.CertificatePem + PemEncoding.WriteString("PUBLIC KEY", publicKeyPem) + "\n";
        var bundle = new RekeyedSigner(repo.RootSigner, new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(pem)));

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [bundle]), bundle)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Fact]
    public async Task Root_LeafWithValidIntermediate_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var ca = TestCertificates.CreateCertificateAuthority();
        using var intermediate = TestCertificates.CreateIntermediate(ca);
        using var leaf = new CertificateSigner(Leaf(intermediate), intermediate);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Root_LeafWithExpiredIntermediate_FailsIntegrity()
    {
        // Invalid intermediates are dropped, so the rebuilt key (leaf only) no longer has the signature's key ID.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var now = DateTimeOffset.UtcNow;
        using var expiredCa = TestCertificates.Create(new TestCertificateOptions
        {
            CommonName = "expired intermediate", IsCertificateAuthority = true, NotBefore = now.AddDays(-30), NotAfter = now.AddDays(-2),
        });
        using var leaf = new CertificateSigner(Leaf(expiredCa), expiredCa);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, IntegrityFailed);
    }

    [Fact]
    public async Task Root_CertificateWithNonStandardPemFormatting_FailsIntegrity()
    {
        // The key is rebuilt as standard PEM and re-identified; CRLF line ends give another key ID (spec §3.2 "Key-ID subtlety").
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var crlf = repo.RootSigner.Certificate.CertificatePem.Replace("\n", "\r\n", StringComparison.Ordinal);
        var key = new RekeyedSigner(repo.RootSigner, new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(crlf)));

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [key]), key)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, IntegrityFailed);
    }

    // ---- §3.2 step 3: leaf acceptance ----

    [Theory]
    [InlineData(Gun, true)]
    [InlineData("example.com/*", true)]
    [InlineData("example.com/test/*", true)]
    [InlineData("example.com/test/repo*", true)]
    [InlineData("example.com/test/**", true)]
    [InlineData("*", true)]
    [InlineData("example.com/test/rep", false)]
    [InlineData("Example.com/test/repo", false)]
    [InlineData("example.com/test/repo/extra", false)]
    [InlineData("example.com/test/repo/*", false)]
    [InlineData("other.com/*", false)]
    [InlineData("example.com/*/repo", false)]
    public async Task Root_LeafCommonName_MustMatchGunOrWildcardPrefix(string commonName, bool accepted)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var leaf = CertificateSigner.Create(commonName);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        if (accepted)
        {
            UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
        }
        else
        {
            UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
        }
    }

    [Theory]
    [InlineData(TestKeyAlgorithm.EcdsaP256)]
    [InlineData(TestKeyAlgorithm.Rsa)]
    public async Task Root_LeafSignedWithSha1_Rejected(TestKeyAlgorithm algorithm)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var leaf = CertificateSigner.Create(Gun, new TestCertificateOptions { KeyAlgorithm = algorithm, SignatureHash = HashAlgorithmName.SHA1 });

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Fact]
    public async Task Root_LeafSignedWithSha384_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var leaf = CertificateSigner.Create(Gun, new TestCertificateOptions { SignatureHash = HashAlgorithmName.SHA384 });

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Root_RsaX509Leaf_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var leaf = CertificateSigner.Create(Gun, new TestCertificateOptions { KeyAlgorithm = TestKeyAlgorithm.Rsa });
        Assert.Equal(KeyType.RsaX509, leaf.PublicKey.KeyType);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Root_RsaLeafBelow2048Bits_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var leaf = CertificateSigner.Create(Gun, new TestCertificateOptions { KeyAlgorithm = TestKeyAlgorithm.Rsa, RsaKeySize = 1024 });

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Fact]
    public async Task Root_ExpiredLeaf_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var now = repo.Clock.Now;
        using var leaf = CertificateSigner.Create(Gun, new TestCertificateOptions { NotBefore = now.AddDays(-30), NotAfter = now.AddMinutes(-1) });

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
    }

    [Theory]
    [InlineData(-1, true)] // valid since yesterday
    [InlineData(12, true)] // starts in 12 hours: within the one-day leeway
    [InlineData(23, true)]
    [InlineData(25, false)] // starts in 25 hours: too far in the future
    [InlineData(24 * 30, false)]
    public async Task Root_LeafNotBefore_AllowsOneDayLeeway(int hoursFromNow, bool accepted)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var now = repo.Clock.Now;
        using var leaf = CertificateSigner.Create(Gun, new TestCertificateOptions { NotBefore = now.AddHours(hoursFromNow), NotAfter = now.AddYears(10) });

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(rootKeys: [leaf]), leaf)), ("targets", repo.Targets(1)));

        if (accepted)
        {
            UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
        }
        else
        {
            UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, NoValidLeaf);
        }
    }

    [Fact]
    public async Task Root_OnlyAcceptedLeavesCountForTheThreshold()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var wrongCn = CertificateSigner.Create("example.com/other");
        var body = repo.RootBody(rootKeys: [repo.RootSigner, wrongCn]);

        var signedByWrongCn = await repo.PublishAsync(("root", TestRepository.Sign(body, wrongCn)), ("targets", repo.Targets(1)));
        var signedByGoodLeaf = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(signedByWrongCn, ValidationErrorKind.BadRoot, IntegrityFailed);
        UpdateAssert.Accepted(signedByGoodLeaf, "root", "targets", "snapshot", "timestamp");
    }

    // ---- §3.2 step 6: self-consistency ----

    [Fact]
    public async Task Root_NotSignedByItsRootKey_FailsIntegrity()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = CertificateSigner.Create(Gun);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(), stranger)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, IntegrityFailed);
    }

    [Fact]
    public async Task Root_WithoutSignatures_FailsIntegrity()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", Envelope.Assemble(repo.RootBody())), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, IntegrityFailed);
    }

    [Fact]
    public async Task Root_ThresholdTwo_NeedsTwoDistinctRootKeys()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var second = CertificateSigner.Create(Gun);
        var body = repo.RootBody(rootKeys: [repo.RootSigner, second], rootThreshold: 2);

        var one = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner)), ("targets", repo.Targets(1)));
        var sameTwice = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner, repo.RootSigner)), ("targets", repo.Targets(1)));
        var both = await repo.PublishAsync(("root", TestRepository.Sign(body, repo.RootSigner, second)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(one, ValidationErrorKind.BadRoot, IntegrityFailed);
        UpdateAssert.Rejected(sameTwice, ValidationErrorKind.BadRoot, IntegrityFailed);
        UpdateAssert.Accepted(both, "root", "targets", "snapshot", "timestamp");
    }

    // ---- §3.2 step 4: rotation ----

    [Fact]
    public async Task Rotation_SignedByOldAndNewKeys_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var next = CertificateSigner.Create(Gun);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(2, [next]), repo.RootSigner, next)));

        UpdateAssert.Accepted(result, "root", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Rotation_SignedByNewKeyOnly_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var next = CertificateSigner.Create(Gun);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(2, [next]), next)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, RotationFailed);
    }

    [Fact]
    public async Task Rotation_SignedByOldKeyOnly_FailsIntegrity()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var next = CertificateSigner.Create(Gun);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(2, [next]), repo.RootSigner)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, IntegrityFailed);
    }

    [Fact]
    public async Task Rotation_VersionBumpedWithoutResigning_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var oldSignature = repo.RootSigner.Sign(CanonicalJson.Encode(repo.RootBody(1)));

        var result = await repo.PublishAsync(("root", Envelope.Assemble(repo.RootBody(2), oldSignature)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, RotationFailed);
    }

    [Fact]
    public async Task Rotation_PreviousThresholdOfOldKeysRequired()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var oldSecond = CertificateSigner.Create(Gun);
        using var next = CertificateSigner.Create(Gun);
        var v1 = TestRepository.Sign(repo.RootBody(1, [repo.RootSigner, oldSecond], 2), repo.RootSigner, oldSecond);
        UpdateAssert.Accepted(await repo.PublishAsync(("root", v1), ("targets", repo.Targets(1))), "root", "targets", "snapshot", "timestamp");
        var v2 = repo.RootBody(2, [next]);

        var oneOldKey = await repo.PublishAsync(("root", TestRepository.Sign(v2, repo.RootSigner, next)));
        var bothOldKeys = await repo.PublishAsync(("root", TestRepository.Sign(v2, repo.RootSigner, oldSecond, next)));

        UpdateAssert.Rejected(oneOldKey, ValidationErrorKind.BadRoot, RotationFailed);
        UpdateAssert.Accepted(bothOldKeys, "root", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Rotation_NewThresholdOfNewKeysRequired()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var nextA = CertificateSigner.Create(Gun);
        using var nextB = CertificateSigner.Create(Gun);
        await repo.InitializeAsync();
        var v2 = repo.RootBody(2, [nextA, nextB], 2);

        var oneNewKey = await repo.PublishAsync(("root", TestRepository.Sign(v2, repo.RootSigner, nextA)));
        var bothNewKeys = await repo.PublishAsync(("root", TestRepository.Sign(v2, repo.RootSigner, nextA, nextB)));

        UpdateAssert.Rejected(oneNewKey, ValidationErrorKind.BadRoot, IntegrityFailed);
        UpdateAssert.Accepted(bothNewKeys, "root", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Rotation_PreviousCertificatesAreNotExpiryChecked()
    {
        // The stored root has one short-lived and one long-lived root certificate; after the short one expires the
        // stored root still loads (the long one is valid) and the expired one still counts for rotation.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var now = repo.Clock.Now;
        using var shortLived = CertificateSigner.Create(Gun, new TestCertificateOptions { NotBefore = now.AddDays(-1), NotAfter = now.AddDays(1) });
        using var next = CertificateSigner.Create(Gun);
        var v1 = TestRepository.Sign(repo.RootBody(1, [shortLived, repo.RootSigner]), shortLived, repo.RootSigner);
        UpdateAssert.Accepted(await repo.PublishAsync(("root", v1), ("targets", repo.Targets(1))), "root", "targets", "snapshot", "timestamp");
        repo.Clock.Now = now.AddDays(3);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(2, [next]), shortLived, next)));

        UpdateAssert.Accepted(result, "root", "snapshot", "timestamp");
    }

    // ---- §3.2 step 7: expiry (after everything else) ----

    [Theory]
    [InlineData("2020-01-02T03:04:05Z", "Thu Jan 2 03:04:05 UTC 2020")]
    [InlineData("2020-01-02T03:04:05.123456789Z", "Thu Jan 2 03:04:05 UTC 2020")]
    [InlineData("2020-01-02T03:04:05-05:00", "Thu Jan 2 03:04:05 -0500 2020")]
    [InlineData("2019-12-25T23:59:59+01:30", "Wed Dec 25 23:59:59 +0130 2019")]
    public async Task Root_Expired_Rejected(string expires, string formatted)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody().Expiring(expires), repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, $"root expired at {formatted}");
    }

    [Fact]
    public async Task Root_ExpiryIsCheckedAfterSignatures()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = CertificateSigner.Create(Gun);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody().Expiring("2020-01-02T03:04:05Z"), stranger)), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadRoot, IntegrityFailed);
    }

    [Fact]
    public async Task Root_ExpiringJustAfterNow_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(expires: repo.Clock.Now.AddSeconds(1)), repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
    }

    // ---- §3.3 no root uploaded ----

    [Fact]
    public async Task NoRootStoredOrUploaded_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("targets", repo.Targets(1)));

        UpdateAssert.Rejected(result, ValidationErrorKind.Validation, "no pre-existing root and no root provided in update.");
    }

    [Fact]
    public async Task NoRootUploaded_StoredRootIsUsed()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, ["v2"]);

        var result = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(2, ("root", repo.Current("root")), ("targets", targets))));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task StoredRootExpired_IsStillUsed()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var root = TestRepository.Sign(repo.RootBody(expires: repo.Clock.Now.AddDays(1)), repo.RootSigner);
        UpdateAssert.Accepted(await repo.PublishAsync(("root", root), ("targets", repo.Targets(1))), "root", "targets", "snapshot", "timestamp");
        repo.Clock.Now = repo.Clock.Now.AddDays(2);

        var result = await repo.PublishAsync(("targets", repo.Targets(2)));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task StoredRootUnparsable_RejectedWithoutDetail()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var state = RepositoryState.Empty.With("root", Encoding.UTF8.GetBytes("{\"signed\":"), version: 1);

        UpdateAssert.RejectedWithoutDetail(await repo.ValidateAsync(state, ("targets", repo.Targets(1))));
        UpdateAssert.RejectedWithoutDetail(await repo.ValidateAsync(state, ("root", repo.Root(2)), ("targets", repo.Targets(1))));
    }

    [Fact]
    public async Task StoredRootCertificateExpired_EveryUpdateRejectedWithoutDetail()
    {
        // Go quirk kept for parity (§3.3): the stored root goes through the certificate checks, expiry included.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var now = repo.Clock.Now;
        using var shortLived = CertificateSigner.Create(Gun, new TestCertificateOptions { NotBefore = now.AddDays(-1), NotAfter = now.AddDays(1) });
        using var next = CertificateSigner.Create(Gun);
        var v1 = TestRepository.Sign(repo.RootBody(1, [shortLived]), shortLived);
        UpdateAssert.Accepted(await repo.PublishAsync(("root", v1), ("targets", repo.Targets(1))), "root", "targets", "snapshot", "timestamp");
        repo.Clock.Now = now.AddDays(3);

        UpdateAssert.RejectedWithoutDetail(await repo.PublishAsync(("targets", repo.Targets(2))));
        UpdateAssert.RejectedWithoutDetail(await repo.PublishAsync(("root", TestRepository.Sign(repo.RootBody(2, [next]), shortLived, next))));
    }

    [Fact]
    public async Task StoredRootAcceptedBefore_CertificateExpiresBetweenUpdates_Rejected()
    {
        // The validator memoizes stored-root validation; the certificate's expiry must still be seen.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var now = repo.Clock.Now;
        using var shortLived = CertificateSigner.Create(Gun, new TestCertificateOptions { NotBefore = now.AddDays(-1), NotAfter = now.AddDays(1) });
        var v1 = TestRepository.Sign(repo.RootBody(1, [shortLived]), shortLived);
        UpdateAssert.Accepted(await repo.PublishAsync(("root", v1), ("targets", repo.Targets(1))), "root", "targets", "snapshot", "timestamp");
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(2))), "targets", "snapshot", "timestamp");
        repo.Clock.Now = now.AddHours(23);
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(3))), "targets", "snapshot", "timestamp");
        repo.Clock.Now = now.AddDays(1).AddSeconds(1);

        UpdateAssert.RejectedWithoutDetail(await repo.PublishAsync(("targets", repo.Targets(4))));
    }

    private static TestCertificate Leaf(TestCertificate issuer) => TestCertificates.Create(
        new TestCertificateOptions { CommonName = Gun, NotAfter = DateTimeOffset.UtcNow.AddYears(5), ExtendedKeyUsages = [ExtendedKeyUsageOids.CodeSigning] },
        issuer);
}

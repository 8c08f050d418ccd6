using System.Security.Cryptography;
using System.Text;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>
/// Regressions for published audit findings against TUF/Notary: Cure53 TUF-01-001 (unsigned data in uploads),
/// TUF-01-002 / NCC 2015 finding 3 (version integer limits), NCC 2015 finding 1 (signature method / key type
/// confusion), plus threshold counting.
/// </summary>
public sealed class AuditRegressionTests
{
    private const string TargetsThreshold = "valid signatures did not meet threshold for targets";

    // ---- Cure53 TUF-01-001: unsigned content ----

    [Fact]
    public async Task UnsignedOuterField_IsStoredVerbatimAndCoveredByTheGeneratedSnapshot()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var targets = Envelope.WithOuterField(repo.Targets(2), "injected", "{\"targets\":{\"evil\":{}}}");

        var result = await repo.PublishAsync(("targets", targets));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
        Assert.Equal(targets, UpdateAssert.File(result, "targets").Data);
        var snapshot = MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(UpdateAssert.File(result, "snapshot").Data));
        Assert.Equal(SHA256.HashData(targets), snapshot.Meta["targets"].Hashes["sha256"]);
        Assert.Equal(targets.Length, snapshot.Meta["targets"].Length);
    }

    [Fact]
    public async Task UnsignedOuterField_CannotBeSmuggledPastAClientSignedSnapshot()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var original = repo.Targets(2);
        var tampered = Envelope.WithOuterField(original, "injected", "true");
        var body = repo.SnapshotBody(2, [("root", repo.Current("root"))]);
        body.Object("meta").Set("targets", new JsonObject()
            .Set("hashes", new JsonObject().Set("sha256", new JsonString(Convert.ToBase64String(SHA256.HashData(original)))))
            .Set("length", new JsonNumber(original.Length)));

        var result = await repo.PublishAsync(("targets", tampered), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(
            result, ValidationErrorKind.BadSnapshot, $"sha256 checksum for targets did not match: expected {Convert.ToHexStringLower(SHA256.HashData(original))}");
    }

    [Fact]
    public async Task FieldAddedInsideSignedAfterSigning_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var body = repo.TargetsBody(2);
        var signature = repo.TargetsKey.Sign(CanonicalJson.Encode(body));
        body.Set("injected", new JsonString("not covered by the signature"));

        var result = await repo.PublishAsync(("targets", Envelope.Assemble(body, signature)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, TargetsThreshold);
    }

    [Fact]
    public async Task DuplicateSignedMember_TheLastOneIsVerified()
    {
        // Go's decoder keeps the last duplicate; the server must judge the same body clients will read.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var body = repo.TargetsBody(2);
        var canonical = CanonicalJson.Encode(body);
        var signature = repo.TargetsKey.Sign(canonical);
        var decoy = Encoding.UTF8.GetString(CanonicalJson.Encode(repo.TargetsBody(2, ["evil"])));
        var decoyLast = Envelope.WithOuterField(Envelope.Assemble(body, signature), "signed", decoy);
        var decoyFirst = Envelope.WithOuterField(Envelope.Assemble(repo.TargetsBody(2, ["evil"]), signature), "signed", Encoding.UTF8.GetString(canonical));

        var decoyLastResult = await repo.PublishAsync(("targets", decoyLast));
        var decoyFirstResult = await repo.PublishAsync(("targets", decoyFirst));

        UpdateAssert.Rejected(decoyLastResult, ValidationErrorKind.BadTargets, TargetsThreshold);
        UpdateAssert.Accepted(decoyFirstResult, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task NonCanonicalSignedBytes_AreVerifiedCanonicallyAndStoredVerbatim()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var targets = Envelope.NonCanonical(repo.TargetsBody(2, ["a<b>&c/é€"]), repo.TargetsKey);

        var result = await repo.PublishAsync(("targets", targets));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
        Assert.Equal(targets, UpdateAssert.File(result, "targets").Data);
    }

    [Fact]
    public async Task NonCanonicalRoot_IsAccepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", Envelope.NonCanonical(repo.RootBody(), repo.RootSigner)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(result, "root", "targets", "snapshot", "timestamp");
    }

    // ---- TUF-01-002 / NCC 2015 finding 3: integer limits ----

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1L + int.MaxValue)]
    [InlineData(uint.MaxValue)]
    [InlineData(1L + uint.MaxValue)]
    public async Task VersionsAtThe32BitLimits_AreAcceptedAndDoNotBlockTheNextUpdate(long version)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var atLimit = await repo.PublishAsync(("targets", repo.Targets(version)));
        var after = await repo.PublishAsync(("targets", repo.Targets(version + 1)));

        UpdateAssert.Accepted(atLimit, "targets", "snapshot", "timestamp");
        UpdateAssert.Accepted(after, "targets", "snapshot", "timestamp");
        Assert.Equal(version + 1, UpdateAssert.File(after, "targets").Version);
    }

    // ---- NCC 2015 finding 1: method / key type confusion ----

    [Theory]
    [InlineData(SignatureMethod.RsaPss)]
    [InlineData(SignatureMethod.RsaPkcs1v15)]
    [InlineData(SignatureMethod.PyCryptoPss)]
    [InlineData(SignatureMethod.EdDsa)]
    [InlineData("ed25519")]
    [InlineData("")]
    public async Task EcdsaSignature_UnderAnotherMethod_DoesNotCount(string method)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), new RelabelledSigner(repo.TargetsKey, method))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, TargetsThreshold);
    }

    [Fact]
    public async Task MethodName_IsCaseInsensitive()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), new RelabelledSigner(repo.TargetsKey, "ECDSA"))));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
    }

    [Theory]
    [InlineData(SignatureMethod.Ecdsa)]
    [InlineData("ed25519")]
    [InlineData(SignatureMethod.RsaPss)]
    public async Task Ed25519Signature_UnderAnotherMethod_DoesNotCount(string method)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true) { TargetsKey = KeySigner.Ed25519() };
        await repo.InitializeAsync();

        var wrong = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), new RelabelledSigner(repo.TargetsKey, method))));
        var right = await repo.PublishAsync(("targets", repo.Targets(2)));

        UpdateAssert.Rejected(wrong, ValidationErrorKind.BadTargets, TargetsThreshold);
        UpdateAssert.Accepted(right, "targets", "snapshot", "timestamp");
    }

    [Theory]
    [InlineData(SignatureMethod.Ecdsa)]
    [InlineData(SignatureMethod.EdDsa)]
    [InlineData(SignatureMethod.RsaPkcs1v15)]
    [InlineData(SignatureMethod.PyCryptoPss)]
    public async Task RsaPssSignature_UnderAnotherMethod_DoesNotCount(string method)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var rsa = new RsaKeySigner();
        await repo.InitializeAsync();
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(2, delegations: [new Delegation("targets/a", [rsa])]))), "targets", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(1), new RelabelledSigner(rsa, method))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets/a");
    }

    [Theory]
    [InlineData(KeyType.Ed25519)]
    [InlineData(KeyType.Rsa)]
    [InlineData(KeyType.EcdsaX509)]
    [InlineData("unknown")]
    public async Task EcdsaKeyBytesUnderAnotherKeyType_NeverVerify(string keyType)
    {
        // The root lists the targets key's SPKI under another key type (and the ID that goes with it).
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var confused = new RekeyedSigner(repo.TargetsKey, new TufPublicKey(keyType, repo.TargetsKey.PublicKey.Public));
        var root = TestRepository.Sign(repo.RootBody().WithRole("targets", 1, confused), repo.RootSigner);

        var result = await repo.PublishAsync(("root", root), ("targets", TestRepository.Sign(repo.TargetsBody(1), confused)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, TargetsThreshold);
    }

    [Fact]
    public async Task DerEncodedEcdsaSignature_DoesNotCount()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        using var der = new DerEcdsaSigner(repo.TargetsKey);

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), der)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, TargetsThreshold);
    }

    // ---- threshold counting ----

    [Fact]
    public async Task DuplicateSignaturesOfOneKey_CountOnce()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var second = KeySigner.Ecdsa();
        var root = TestRepository.Sign(repo.RootBody().WithRole("targets", 2, repo.TargetsKey, second), repo.RootSigner);
        var body = repo.TargetsBody(1);
        var signature = repo.TargetsKey.Sign(CanonicalJson.Encode(body));

        var identical = await repo.PublishAsync(("root", root), ("targets", Envelope.Assemble(body, signature, signature)));
        var freshlySigned = await repo.PublishAsync(("root", root), ("targets", TestRepository.Sign(body, repo.TargetsKey, repo.TargetsKey, repo.TargetsKey)));
        var invalidSecond = await repo.PublishAsync(("root", root), ("targets", Envelope.Assemble(body, signature, second.Sign(Encoding.UTF8.GetBytes("other")))));

        UpdateAssert.Rejected(identical, ValidationErrorKind.BadTargets, TargetsThreshold);
        UpdateAssert.Rejected(freshlySigned, ValidationErrorKind.BadTargets, TargetsThreshold);
        UpdateAssert.Rejected(invalidSecond, ValidationErrorKind.BadTargets, TargetsThreshold);
    }
}

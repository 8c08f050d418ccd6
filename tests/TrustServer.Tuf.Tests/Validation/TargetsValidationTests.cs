using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>
/// The top-level targets role and the signature/threshold rules (spec validation.md §2, §4.1, §4.2 for
/// <c>targets</c>): signatures first, then structure, version, expiry; order of targets roles.
/// </summary>
public sealed class TargetsValidationTests
{
    [Fact]
    public async Task Targets_SignedByItsKey_Accepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", repo.Targets(2, ["a", "b"])));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Targets_SignedByAnotherKey_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = KeySigner.Ecdsa();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), stranger)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
    }

    [Fact]
    public async Task Targets_SignedByTheKeyOfAnotherRole_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
    }

    [Fact]
    public async Task Targets_WithoutSignatures_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", Envelope.Assemble(repo.TargetsBody(2))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "tuf: data has no signatures");
    }

    [Fact]
    public async Task Targets_ExtraSignaturesFromUnknownKeys_AreIgnored()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = KeySigner.Ecdsa();
        using var otherStranger = KeySigner.Ed25519();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), stranger, repo.TargetsKey, otherStranger)));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Targets_ThresholdTwo_NeedsTwoDistinctKeys()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var second = KeySigner.Ed25519();
        var root = TestRepository.Sign(repo.RootBody().WithRole("targets", 2, repo.TargetsKey, second), repo.RootSigner);
        var body = repo.TargetsBody(1);

        var one = await repo.PublishAsync(("root", root), ("targets", TestRepository.Sign(body, repo.TargetsKey)));
        var sameKeyTwice = await repo.PublishAsync(("root", root), ("targets", TestRepository.Sign(body, repo.TargetsKey, repo.TargetsKey)));
        var both = await repo.PublishAsync(("root", root), ("targets", TestRepository.Sign(body, second, repo.TargetsKey)));

        UpdateAssert.Rejected(one, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
        UpdateAssert.Rejected(sameKeyTwice, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
        UpdateAssert.Accepted(both, "root", "targets", "snapshot", "timestamp");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Targets_SignatureWhoseKeyIdDoesNotMatchTheKey_IsAHardError(bool mismatchFirst)
    {
        // The root lists a key under an ID that is not its computed ID; a signature naming that ID fails the whole
        // check even when the threshold is met by another key (§2 step 4).
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var other = KeySigner.Ecdsa();
        var fakeId = new string('0', 64);
        var body = repo.RootBody();
        body.Object("keys").Set(fakeId, other.PublicKey.ToJson());
        body.Object("roles").Set("targets", new JsonObject()
            .Set("keyids", new JsonArray([new JsonString(repo.TargetsKey.PublicKey.Id), new JsonString(fakeId)]))
            .Set("threshold", new JsonNumber(1)));
        var root = TestRepository.Sign(body, repo.RootSigner);
        var targetsBody = repo.TargetsBody(1);
        var canonical = CanonicalJson.Encode(targetsBody);
        var good = repo.TargetsKey.Sign(canonical);
        var mislabelled = other.Sign(canonical) with { KeyId = fakeId };
        TufSignature[] signatures = mismatchFirst ? [mislabelled, good] : [good, mislabelled];

        var result = await repo.PublishAsync(("root", root), ("targets", Envelope.Assemble(targetsBody, signatures)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "key ID is not valid for key content");
    }

    [Fact]
    public void ThresholdBelowOne_NeverVerifies()
    {
        // Unreachable through uploads (structure checks demand threshold ≥ 1), so checked on the verifier itself.
        using var key = KeySigner.Ecdsa();
        var file = SignedEnvelope.Parse(TestRepository.Sign(new JsonObject().Set("_type", new JsonString("Targets")), key));
        var keys = new Dictionary<string, TufPublicKey> { [key.PublicKey.Id] = key.PublicKey };

        Assert.Equal("valid signatures did not meet threshold", ThresholdVerifier.Verify(file, new BaseRole("targets", keys, 0)));
        Assert.Null(ThresholdVerifier.Verify(file, new BaseRole("targets", keys, 1)));
        Assert.Equal("valid signatures did not meet threshold for targets", ThresholdVerifier.Verify(file, new BaseRole("targets", keys, 2)));
    }

    // ---- structure (tuf-metadata.md §4), checked after the signatures for targets ----

    [Fact]
    public async Task Targets_WrongType_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2).With("_type", new JsonString("Root")), repo.TargetsKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "targets type metadata invalid: expected type Targets, not Root");
    }

    [Fact]
    public async Task Targets_SignaturesAreCheckedBeforeStructure()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = KeySigner.Ecdsa();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(0).With("_type", new JsonString("Root")), stranger)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task Targets_VersionBelowOne_Rejected(long version)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", repo.Root()), ("targets", repo.Targets(version)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "targets type metadata invalid: version cannot be less than one");
    }

    [Theory]
    [InlineData("targets/A")]
    [InlineData("targets/a/b")]
    [InlineData("targets")]
    [InlineData("other/a")]
    [InlineData("targets/a/")]
    [InlineData("targets//a")]
    [InlineData("targets/../a")]
    [InlineData("targets/a b")]
    public async Task Targets_InvalidDelegationName_Rejected(string name)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = KeySigner.Ecdsa();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", repo.Targets(2, delegations: [new Delegation(name, [key], Paths: [""])])));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, $"targets type metadata invalid: delegation role {name} invalid");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public async Task Targets_DelegationThresholdBelowOne_Rejected(long threshold)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = KeySigner.Ecdsa();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", repo.Targets(2, delegations: [new Delegation("targets/a", [key], threshold)])));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, $"targets type metadata invalid: invalid threshold specified for targets/a: {threshold} ");
    }

    [Fact]
    public async Task Targets_DelegationKeyMissingFromKeys_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var key = KeySigner.Ecdsa();
        using var missing = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var body = repo.TargetsBody(2, delegations: [new Delegation("targets/a", [key])]);
        var role = Assert.IsType<JsonObject>(Assert.IsType<JsonArray>(body.Object("delegations")["roles"]).Items[0]);
        role.Set("keyids", new JsonArray([new JsonString(key.PublicKey.Id), new JsonString(missing.PublicKey.Id)]));

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(body, repo.TargetsKey)));

        UpdateAssert.Rejected(
            result, ValidationErrorKind.BadTargets, $"targets type metadata invalid: key ID {missing.PublicKey.Id} specified in targets/a without corresponding key");
    }

    [Fact]
    public async Task Targets_FileHashesAndLengthsAreNotChecked()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var body = repo.TargetsBody(2);
        body.Object("targets").Set("odd", new JsonObject()
            .Set("hashes", new JsonObject().Set("sha256", new JsonString("AAAA")).Set("md5", new JsonString("AA==")))
            .Set("length", new JsonNumber(-5)));

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(body, repo.TargetsKey)));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
    }

    // ---- expiry, last ----

    [Theory]
    [InlineData("2020-01-02T03:04:05Z", "Thu Jan 2 03:04:05 UTC 2020")]
    [InlineData("2020-01-02T03:04:05.5-05:00", "Thu Jan 2 03:04:05 -0500 2020")]
    public async Task Targets_Expired_Rejected(string expires, string formatted)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2).Expiring(expires), repo.TargetsKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, $"targets expired at {formatted}");
    }

    [Fact]
    public async Task Targets_ExpiryIsCheckedAfterSignaturesAndStructure()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var expired = repo.TargetsBody(2).Expiring("2020-01-02T03:04:05Z");

        var badSignature = await repo.PublishAsync(("targets", TestRepository.Sign(expired, stranger)));
        var badStructure = await repo.PublishAsync(("targets", TestRepository.Sign(expired.With("version", new JsonNumber(0)), repo.TargetsKey)));

        UpdateAssert.Rejected(badSignature, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
        UpdateAssert.Rejected(badStructure, ValidationErrorKind.BadTargets, "targets type metadata invalid: version cannot be less than one");
    }

    // ---- §4.1 order: fewer segments first, then ordinal ----

    [Fact]
    public async Task Order_TargetsBeforeDelegations()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = KeySigner.Ecdsa();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(
            ("targets/a", TestRepository.Sign(repo.TargetsBody(1), stranger)), ("targets", TestRepository.Sign(repo.TargetsBody(2), stranger)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
    }

    [Fact]
    public async Task Order_FewerSegmentsFirstThenOrdinal()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var b = KeySigner.Ecdsa();
        using var c = KeySigner.Ecdsa();
        using var z = KeySigner.Ecdsa();
        using var stranger = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        UpdateAssert.Accepted(
            await repo.PublishAsync(("targets", repo.Targets(2, delegations:
                [new Delegation("targets/b", [b]), new Delegation("targets/c", [c]), new Delegation("targets/z", [z])]))),
            "targets", "snapshot", "timestamp");
        var bad = TestRepository.Sign(repo.TargetsBody(1), stranger);

        // targets/a/x sorts before targets/z as a string but has more segments; it would fail with "does not exist".
        var bySegments = await repo.PublishAsync(("targets/a/x", bad), ("targets/z", bad));
        var byName = await repo.PublishAsync(("targets/c", bad), ("targets/b", bad));

        UpdateAssert.Rejected(bySegments, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets/z");
        UpdateAssert.Rejected(byName, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets/b");
    }

    [Fact]
    public void Order_SortsLikeNotary()
    {
        List<string> roles = ["targets/z", "targets/a/b/c", "targets/a", "targets", "targets/a/b", "targets/b/a", "targets/aa"];

        roles.Sort(RoleName.CompareForValidation);

        Assert.Equal(["targets", "targets/a", "targets/aa", "targets/z", "targets/a/b", "targets/b/a", "targets/a/b/c"], roles);
    }
}

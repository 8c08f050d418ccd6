using System.Security.Cryptography;
using System.Text;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>Snapshots: uploaded (spec validation.md §5.1) and server-generated (§5.2).</summary>
public sealed class SnapshotValidationTests
{
    private const string CannotSignGo = "no snapshot was included in update and server does not hold current snapshot key for repository";

    // Notary's message, then the fix this server names.
    private static string CannotSign(string gun) =>
        CannotSignGo + $"; sign the snapshot on the client, or run \"notary key rotate {gun} snapshot -r\" against this server";

    // ---- §5.1 uploaded: signatures, structure, version, expiry ----

    [Fact]
    public async Task Uploaded_SignedByAnotherKey_Rejected()
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", TestRepository.Sign(repo.SnapshotBody(1, [("root", root), ("targets", targets)]), repo.TargetsKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "valid signatures did not meet threshold for snapshot");
    }

    [Fact]
    public async Task Uploaded_WithoutSignatures_Rejected()
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", Envelope.Assemble(repo.SnapshotBody(1, [("root", root), ("targets", targets)]))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "tuf: data has no signatures");
    }

    [Fact]
    public async Task Uploaded_WrongType_Rejected()
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));
        var body = repo.SnapshotBody(1, [("root", root), ("targets", targets)]).With("_type", new JsonString("Timestamp"));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "snapshot type metadata invalid: expected type Snapshot, not Timestamp");
    }

    [Fact]
    public async Task Uploaded_VersionZero_Rejected()
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", repo.Snapshot(0, ("root", root), ("targets", targets))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "snapshot type metadata invalid: version cannot be less than one");
    }

    [Theory]
    [InlineData("root")]
    [InlineData("targets")]
    public async Task Uploaded_MissingRootOrTargetsEntry_Rejected(string missing)
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));
        var body = repo.SnapshotBody(1, [("root", root), ("targets", targets)]);
        body.Set("meta", body.Object("meta").Without(missing));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, $"snapshot type metadata invalid: missing {missing} sha256 checksum information");
    }

    [Fact]
    public async Task Uploaded_RootEntryWithoutSha256_Rejected()
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));
        var body = repo.SnapshotBody(1, [("root", root), ("targets", targets)]);
        body.Object("meta").Set("root", Meta(root.Length, ("sha512", SHA512.HashData(root))));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "snapshot type metadata invalid: missing root sha256 checksum information");
    }

    [Theory]
    [InlineData("root", "sha256", 31)]
    [InlineData("targets", "sha512", 32)]
    public async Task Uploaded_DigestOfWrongLength_Rejected(string role, string algorithm, int length)
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));
        var body = repo.SnapshotBody(1, [("root", root), ("targets", targets)]);
        body.Object("meta").Set(role, Meta(10, ("sha256", new byte[algorithm == "sha256" ? length : 32]), (algorithm, new byte[length])));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, $"snapshot type metadata invalid: invalid {role} checksum information, {algorithm} checksum invalid");
    }

    [Fact]
    public async Task Uploaded_Expired_Rejected()
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));
        var body = repo.SnapshotBody(1, [("root", root), ("targets", targets)]).Expiring("2020-01-02T03:04:05Z");

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "snapshot expired at Thu Jan 2 03:04:05 UTC 2020");
    }

    // ---- §5.1 hash cross-check of every role loaded in this update ----

    [Fact]
    public async Task Uploaded_TargetsSha256Mismatch_Rejected()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, ["new"]);
        var wrong = SHA256.HashData(repo.Current("targets"));
        var body = repo.SnapshotBody(2, [("root", repo.Current("root"))]);
        body.Object("meta").Set("targets", Meta(targets.Length, ("sha256", wrong)));

        var result = await repo.PublishAsync(("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, $"sha256 checksum for targets did not match: expected {Convert.ToHexStringLower(wrong)}");
    }

    [Fact]
    public async Task Uploaded_TargetsSha512Mismatch_Rejected()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, ["new"]);
        var wrong = SHA512.HashData(repo.Current("targets"));
        var body = repo.SnapshotBody(2, [("root", repo.Current("root"))]);
        body.Object("meta").Set("targets", Meta(targets.Length, ("sha256", SHA256.HashData(targets)), ("sha512", wrong)));

        var result = await repo.PublishAsync(("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, $"sha512 checksum for targets did not match: expected {Convert.ToHexStringLower(wrong)}");
    }

    [Fact]
    public async Task Uploaded_RootMismatch_Rejected()
    {
        using var repo = new TestRepository();
        var (root, targets) = (repo.Root(), repo.Targets(1));
        var wrong = SHA256.HashData(targets);
        var body = repo.SnapshotBody(1, [("targets", targets)]);
        body.Object("meta").Set("root", Meta(root.Length, ("sha256", wrong)));

        var result = await repo.PublishAsync(("root", root), ("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, $"sha256 checksum for root did not match: expected {Convert.ToHexStringLower(wrong)}");
    }

    [Fact]
    public async Task Uploaded_StoredRootMustMatchWhenNoRootUploaded()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var targets = repo.Targets(2);
        var otherRoot = repo.Root(2);

        var result = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(2, ("root", otherRoot), ("targets", targets))));

        UpdateAssert.Rejected(
            result, ValidationErrorKind.BadSnapshot, $"sha256 checksum for root did not match: expected {Convert.ToHexStringLower(SHA256.HashData(otherRoot))}");
    }

    [Fact]
    public async Task Uploaded_WithNewRoot_DescribesTheNewRootNotTheStoredOne()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var oldRoot = repo.Current("root");
        var newRoot = repo.Root(2);
        var targets = repo.Current("targets");

        var describingOld = await repo.PublishAsync(("root", newRoot), ("snapshot", repo.Snapshot(2, ("root", oldRoot), ("targets", targets))));
        var describingNew = await repo.PublishAsync(("root", newRoot), ("snapshot", repo.Snapshot(2, ("root", newRoot), ("targets", targets))));

        UpdateAssert.Rejected(
            describingOld, ValidationErrorKind.BadSnapshot, $"sha256 checksum for root did not match: expected {Convert.ToHexStringLower(SHA256.HashData(oldRoot))}");
        UpdateAssert.Accepted(describingNew, "root", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Uploaded_DelegationWithoutEntry_Rejected()
    {
        using var repo = new TestRepository();
        using var a = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, delegations: [new Delegation("targets/a", [a])]);
        var roleA = TestRepository.Sign(repo.TargetsBody(1), a);

        var result = await repo.PublishAsync(
            ("targets", targets), ("targets/a", roleA), ("snapshot", repo.Snapshot(2, ("root", repo.Current("root")), ("targets", targets))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "no checksums for supported algorithms were provided for targets/a");
    }

    [Fact]
    public async Task Uploaded_EntryWithOnlyUnsupportedAlgorithms_Rejected()
    {
        using var repo = new TestRepository();
        using var a = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, delegations: [new Delegation("targets/a", [a])]);
        var roleA = TestRepository.Sign(repo.TargetsBody(1), a);
        var body = repo.SnapshotBody(2, [("root", repo.Current("root")), ("targets", targets)]);
        body.Object("meta").Set("targets/a", Meta(roleA.Length, ("md5", MD5.HashData(roleA))));

        var result = await repo.PublishAsync(("targets", targets), ("targets/a", roleA), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "no checksums for supported algorithms were provided for targets/a");
    }

    [Fact]
    public async Task Uploaded_AncestorsLoadedFromStorageMustMatch()
    {
        using var repo = new TestRepository();
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, delegations: [new Delegation("targets/a", [a])]);
        var roleA = TestRepository.Sign(repo.TargetsBody(1, delegations: [new Delegation("targets/a/b", [ab])]), a);
        var root = repo.Current("root");
        UpdateAssert.Accepted(
            await repo.PublishAsync(("targets", targets), ("targets/a", roleA), ("snapshot", repo.Snapshot(2, ("root", root), ("targets", targets), ("targets/a", roleA)))),
            "targets", "targets/a", "snapshot", "timestamp");
        var roleAb = TestRepository.Sign(repo.TargetsBody(1), ab);

        var withoutParent = await repo.PublishAsync(("targets/a/b", roleAb), ("snapshot", repo.Snapshot(3, ("root", root), ("targets", targets), ("targets/a/b", roleAb))));
        var wrongParent = await repo.PublishAsync(
            ("targets/a/b", roleAb), ("snapshot", repo.Snapshot(3, ("root", root), ("targets", targets), ("targets/a", targets), ("targets/a/b", roleAb))));
        var complete = await repo.PublishAsync(
            ("targets/a/b", roleAb), ("snapshot", repo.Snapshot(3, ("root", root), ("targets", targets), ("targets/a", roleA), ("targets/a/b", roleAb))));

        UpdateAssert.Rejected(withoutParent, ValidationErrorKind.BadSnapshot, "no checksums for supported algorithms were provided for targets/a");
        UpdateAssert.Rejected(
            wrongParent, ValidationErrorKind.BadSnapshot, $"sha256 checksum for targets/a did not match: expected {Convert.ToHexStringLower(SHA256.HashData(targets))}");
        UpdateAssert.Accepted(complete, "targets/a/b", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Uploaded_LengthsOfUploadedRolesAreNotChecked()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var targets = repo.Targets(2);
        var body = repo.SnapshotBody(2, [("root", repo.Current("root"))]);
        body.Object("meta").Set("targets", Meta(1, ("sha256", SHA256.HashData(targets))));

        var result = await repo.PublishAsync(("targets", targets), ("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
    }

    // ---- §5.1, stricter than notary-server: roles named but not uploaded must be the stored ones ----

    [Fact]
    public async Task Uploaded_SnapshotOnly_NamingTargetsThatAreNotStored_Rejected()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var lostTargets = repo.Targets(2);

        var result = await repo.PublishAsync(("snapshot", repo.Snapshot(2, ("root", repo.Current("root")), ("targets", lostTargets))));

        UpdateAssert.Rejected(
            result, ValidationErrorKind.BadSnapshot, $"sha256 checksum for targets did not match: expected {Convert.ToHexStringLower(SHA256.HashData(lostTargets))}");
    }

    [Fact]
    public async Task Uploaded_SnapshotOnly_MatchingTheStoredFiles_Accepted()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("snapshot", repo.Snapshot(2, ("root", repo.Current("root")), ("targets", repo.Current("targets")))));

        UpdateAssert.Accepted(result, "snapshot", "timestamp");
    }

    [Theory]
    [InlineData("root")]
    [InlineData("targets")]
    public async Task Uploaded_StoredRoleWithTheRightHashesButAnotherLength_Rejected(string role)
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var stored = repo.Current(role);
        var body = repo.SnapshotBody(2, [("root", repo.Current("root")), ("targets", repo.Current("targets"))]);
        body.Object("meta").Set(role, Meta(stored.Length + 1, ("sha256", SHA256.HashData(stored)), ("sha512", SHA512.HashData(stored))));

        var result = await repo.PublishAsync(("snapshot", TestRepository.Sign(body, repo.SnapshotKey)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, $"length for {role} did not match: expected {stored.Length + 1}, stored {stored.Length}");
    }

    [Fact]
    public async Task Uploaded_NamingADelegationThatWasNeverStored_Rejected()
    {
        using var repo = new TestRepository();
        using var a = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, delegations: [new Delegation("targets/a", [a])]);
        var neverUploaded = TestRepository.Sign(repo.TargetsBody(1), a);

        var result = await repo.PublishAsync(
            ("targets", targets), ("snapshot", repo.Snapshot(2, ("root", repo.Current("root")), ("targets", targets), ("targets/a", neverUploaded))));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadSnapshot, "targets/a is neither in the update nor stored");
    }

    [Fact]
    public async Task Uploaded_StoredDelegationNotInTheUpdate_MustMatch()
    {
        using var repo = new TestRepository();
        using var a = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var root = repo.Current("root");
        var targets = repo.Targets(2, delegations: [new Delegation("targets/a", [a])]);
        var roleA = TestRepository.Sign(repo.TargetsBody(1), a);
        UpdateAssert.Accepted(
            await repo.PublishAsync(("targets", targets), ("targets/a", roleA), ("snapshot", repo.Snapshot(2, ("root", root), ("targets", targets), ("targets/a", roleA)))),
            "targets", "targets/a", "snapshot", "timestamp");
        var targets3 = repo.Targets(3, delegations: [new Delegation("targets/a", [a])]);
        var otherA = TestRepository.Sign(repo.TargetsBody(2), a);

        var stale = await repo.PublishAsync(("targets", targets3), ("snapshot", repo.Snapshot(3, ("root", root), ("targets", targets3), ("targets/a", otherA))));
        var current = await repo.PublishAsync(("targets", targets3), ("snapshot", repo.Snapshot(3, ("root", root), ("targets", targets3), ("targets/a", roleA))));

        UpdateAssert.Rejected(
            stale, ValidationErrorKind.BadSnapshot, $"sha256 checksum for targets/a did not match: expected {Convert.ToHexStringLower(SHA256.HashData(otherA))}");
        UpdateAssert.Accepted(current, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Uploaded_VersionMaySkipAhead()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var targets = repo.Targets(2);

        var result = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(40, ("root", repo.Current("root")), ("targets", targets))));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
        Assert.Equal(40, UpdateAssert.File(result, "snapshot").Version);
    }

    // ---- §5.2 generated ----

    [Fact]
    public async Task Generated_ServerWithoutSnapshotKey_RejectedAsIncompleteHierarchy()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();

        var result = await repo.PublishAsync(("targets", repo.Targets(2)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadHierarchy, CannotSign(repo.Gun), "snapshot");
    }

    [Fact]
    public async Task Generated_ServerHoldingFewerKeysThanTheThreshold_RejectedAsIncompleteHierarchy()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var second = KeySigner.Ecdsa();
        var root = TestRepository.Sign(repo.RootBody().WithRole("snapshot", 2, repo.SnapshotKey, second), repo.RootSigner);

        var oneHeld = await repo.PublishAsync(("root", root), ("targets", repo.Targets(1)));
        repo.Server.Hold(second.Key);
        var bothHeld = await repo.PublishAsync(("root", root), ("targets", repo.Targets(1)));

        UpdateAssert.Rejected(oneHeld, ValidationErrorKind.BadHierarchy, CannotSign(repo.Gun), "snapshot");
        UpdateAssert.Accepted(bothHeld, "root", "targets", "snapshot", "timestamp");
        Assert.Equal(2, SignedEnvelope.Parse(UpdateAssert.File(bothHeld, "snapshot").Data).Signatures.Count);
    }

    [Fact]
    public async Task Generated_ServerWithoutSnapshotAndTimestampKeys_NamesTheWayOut()
    {
        // A repository imported from a hosted server that kept both keys: no single rotation helps.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        repo.Server.Forget(repo.SnapshotKey.Key);
        repo.Server.Forget(repo.TimestampKey.Key);

        var result = await repo.PublishAsync(("targets", repo.Targets(2)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadHierarchy, CannotSignGo + "; " + ServerKeyFix.NeitherKeyHeld(repo.Gun), "snapshot");
    }

    [Fact]
    public async Task Generated_NewRepositoryWithoutTargets_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);

        var result = await repo.PublishAsync(("root", repo.Root()));

        UpdateAssert.Rejected(result, ValidationErrorKind.Validation, "targets must be loaded first");
    }

    [Fact]
    public async Task Generated_RootOnlyUpdate_ReplacesRootEntryAndKeepsTheRest()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var targets = repo.Current("targets");
        repo.Clock.Now = repo.Clock.Now.AddHours(5);
        var root = repo.Root(2);

        var result = await repo.PublishAsync(("root", root));

        UpdateAssert.Accepted(result, "root", "snapshot", "timestamp");
        var snapshot = MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(UpdateAssert.File(result, "snapshot").Data));
        Assert.Equal(2, snapshot.Version);
        Assert.Equal(repo.Clock.Now.AddDays(1095), snapshot.Expires.Instant);
        Assert.Equal(SHA256.HashData(root), snapshot.Meta["root"].Hashes["sha256"]);
        Assert.Equal(SHA512.HashData(root), snapshot.Meta["root"].Hashes["sha512"]);
        Assert.Equal(root.Length, snapshot.Meta["root"].Length);
        Assert.Equal(SHA256.HashData(targets), snapshot.Meta["targets"].Hashes["sha256"]);
    }

    [Fact]
    public async Task Generated_SignedWithTheNewRootsSnapshotKey()
    {
        // `notary key rotate <gun> snapshot -r`: the uploaded root names a new server-held snapshot key.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var oldKey = repo.SnapshotKey;
        using var newKey = KeySigner.Ecdsa();
        repo.Server.Hold(newKey.Key);
        var root = TestRepository.Sign(repo.RootBody(2).WithRole("snapshot", 1, newKey), repo.RootSigner);

        var result = await repo.PublishAsync(("root", root));

        UpdateAssert.Accepted(result, "root", "snapshot", "timestamp");
        var snapshot = SignedEnvelope.Parse(UpdateAssert.File(result, "snapshot").Data);
        Assert.Equal([newKey.PublicKey.Id], snapshot.Signatures.Select(s => s.KeyId));
        Assert.Null(ThresholdVerifier.Verify(snapshot, new BaseRole("snapshot", new Dictionary<string, TufPublicKey> { [newKey.PublicKey.Id] = newKey.PublicKey }, 1)));
        Assert.NotEqual(oldKey.PublicKey.Id, newKey.PublicKey.Id);
    }

    [Fact]
    public async Task Generated_NewRootNamingAKeyTheServerLacks_RejectedAsIncompleteHierarchy()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        using var clientKey = KeySigner.Ecdsa();
        var root = TestRepository.Sign(repo.RootBody(2).WithRole("snapshot", 1, clientKey), repo.RootSigner);

        var result = await repo.PublishAsync(("root", root));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadHierarchy, CannotSign(repo.Gun), "snapshot");
    }

    [Fact]
    public async Task Generated_PreviousSnapshotWithInvalidStructure_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var broken = TestRepository.Sign(repo.SnapshotBody(5, [("root", repo.Current("root"))]), repo.SnapshotKey);
        var state = repo.State.With("snapshot", broken);

        var result = await repo.ValidateAsync(state, ("targets", repo.Targets(2)));

        UpdateAssert.Rejected(result, ValidationErrorKind.Validation, "snapshot type metadata invalid: missing targets sha256 checksum information");
    }

    [Fact]
    public async Task Generated_PreviousSnapshotUnparsable_RejectedWithoutDetail()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var state = repo.State.With("snapshot", Encoding.UTF8.GetBytes("not json"), version: 1);

        UpdateAssert.RejectedWithoutDetail(await repo.ValidateAsync(state, ("targets", repo.Targets(2))));
    }

    [Fact]
    public async Task Generated_VersionFollowsTheCurrentSnapshot()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var previous = TestRepository.Sign(repo.SnapshotBody(41, [("root", repo.Current("root")), ("targets", repo.Current("targets"))]), repo.SnapshotKey);

        var result = await repo.ValidateAsync(repo.State.With("snapshot", previous), ("targets", repo.Targets(2)));

        UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
        Assert.Equal(42, UpdateAssert.File(result, "snapshot").Version);
    }

    private static JsonObject Meta(long length, params (string Algorithm, byte[] Digest)[] hashes)
    {
        var hashObject = new JsonObject();
        foreach (var (algorithm, digest) in hashes)
        {
            hashObject.Set(algorithm, new JsonString(Convert.ToBase64String(digest)));
        }

        return new JsonObject().Set("hashes", hashObject).Set("length", new JsonNumber(length));
    }
}

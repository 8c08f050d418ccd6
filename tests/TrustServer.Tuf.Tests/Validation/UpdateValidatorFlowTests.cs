using System.Security.Cryptography;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>Accepted updates: which files are stored and what the server generates (spec validation.md §1, §5.2, §6).</summary>
public sealed class UpdateValidatorFlowTests
{
    [Fact]
    public async Task NewRepository_ClientSnapshot_StoresUploadsAndGeneratedTimestamp()
    {
        using var repo = new TestRepository();
        var root = repo.Root();
        var targets = repo.Targets(1, ["v1"]);
        var snapshot = repo.Snapshot(1, ("root", root), ("targets", targets));

        var result = await repo.PublishAsync(("snapshot", snapshot), ("targets", targets), ("root", root));

        Assert.True(result.IsAccepted, result.Error?.Message);
        Assert.Equal(["root", "targets", "snapshot", "timestamp"], result.Files.Select(f => f.Role));
        Assert.Equal(root, result.Files[0].Data);
        Assert.Equal(targets, result.Files[1].Data);
        Assert.Equal(snapshot, result.Files[2].Data);
        var timestamp = SignedEnvelope.Parse(result.Files[3].Data);
        var body = MetaListMetadata.TimestampFromEnvelope(timestamp);
        Assert.Equal(1, body.Version);
        Assert.Equal(repo.Clock.Now.AddDays(14), body.Expires.Instant);
        Assert.Equal(SHA256.HashData(snapshot), body.Meta["snapshot"].Hashes["sha256"]);
        Assert.Equal(SHA512.HashData(snapshot), body.Meta["snapshot"].Hashes["sha512"]);
        Assert.Equal(snapshot.Length, body.Meta["snapshot"].Length);
        Assert.Null(ThresholdVerifier.Verify(timestamp, new BaseRole("timestamp", new Dictionary<string, TufPublicKey> { [repo.TimestampKey.PublicKey.Id] = repo.TimestampKey.PublicKey }, 1)));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(snapshot)), result.Files[2].Sha256Hex);
    }

    [Fact]
    public async Task NewRepository_ServerManagedSnapshot_GeneratesSnapshotOverExactBytes()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var root = repo.Root();
        var targets = repo.Targets(1);

        var result = await repo.PublishAsync(("root", root), ("targets", targets));

        Assert.True(result.IsAccepted, result.Error?.Message);
        Assert.Equal(["root", "targets", "snapshot", "timestamp"], result.Files.Select(f => f.Role));
        var snapshot = MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(result.Files[2].Data));
        Assert.Equal(1, snapshot.Version);
        Assert.Equal(repo.Clock.Now.AddDays(1095), snapshot.Expires.Instant);
        Assert.Equal(["root", "targets"], snapshot.Meta.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(FileMeta.Of(root).Hashes["sha512"], snapshot.Meta["root"].Hashes["sha512"]);
        Assert.Equal(targets.Length, snapshot.Meta["targets"].Length);
        Assert.Equal(["snapshot", "timestamp"], repo.Server.Calls.Select(c => c.Role));
    }

    [Fact]
    public async Task GeneratedFiles_HaveNotaryByteLayout()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var result = await repo.PublishAsync(("root", repo.Root()), ("targets", repo.Targets(1)));

        var text = System.Text.Encoding.UTF8.GetString(result.Files[3].Data);
        Assert.Matches(
            "^\\{\"signed\":\\{\"_type\":\"Timestamp\",\"expires\":\"[0-9T:.-]+Z\",\"meta\":\\{\"snapshot\":\\{\"hashes\":\\{\"sha256\":\"[A-Za-z0-9+/=]{44}\",\"sha512\":\"[A-Za-z0-9+/=]{88}\"\\},\"length\":[0-9]+\\}\\},\"version\":1\\},\"signatures\":\\[\\{\"keyid\":\"[0-9a-f]{64}\",\"method\":\"ecdsa\",\"sig\":\"[A-Za-z0-9+/=]{88}\"\\}\\]\\}$",
            text);
    }

    [Fact]
    public async Task ServerManagedSnapshot_KeepsOtherEntriesAndIncrementsVersions()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var releases = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var targets2 = repo.Targets(2, delegations: [new Delegation("targets/releases", [releases], Paths: [""])]);
        var releases1 = TestRepository.Sign(repo.TargetsBody(1, ["app"]), releases);
        Assert.True((await repo.PublishAsync(("targets", targets2), ("targets/releases", releases1))).IsAccepted);

        // Only targets changes now; the delegation's entry must survive from the previous snapshot.
        var targets3 = repo.Targets(3, ["v3"], [new Delegation("targets/releases", [releases], Paths: [""])]);
        var result = await repo.PublishAsync(("targets", targets3));

        Assert.True(result.IsAccepted, result.Error?.Message);
        var snapshot = MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(result.Files.Single(f => f.Role == "snapshot").Data));
        Assert.Equal(3, snapshot.Version);
        Assert.Equal(FileMeta.Of(releases1).Hashes["sha256"], snapshot.Meta["targets/releases"].Hashes["sha256"]);
        Assert.Equal(FileMeta.Of(targets3).Hashes["sha256"], snapshot.Meta["targets"].Hashes["sha256"]);
        Assert.Equal(3, result.Files.Single(f => f.Role == "timestamp").Version);
    }

    [Fact]
    public async Task UploadedTimestamp_IsIgnored()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var root = repo.Root();
        var fakeTimestamp = TestRepository.Sign(repo.SnapshotBody(7, []).Set("_type", new JsonString("Timestamp")), repo.TimestampKey);

        var result = await repo.PublishAsync(("root", root), ("targets", repo.Targets(1)), ("timestamp", fakeTimestamp));

        Assert.True(result.IsAccepted, result.Error?.Message);
        Assert.NotEqual(fakeTimestamp, result.Files.Single(f => f.Role == "timestamp").Data);
        Assert.Equal(1, result.Files.Single(f => f.Role == "timestamp").Version);
    }

    [Fact]
    public async Task SameRoleTwice_LastOneWins()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = KeySigner.Ecdsa();
        var broken = TestRepository.Sign(repo.TargetsBody(1, ["x"]), stranger);
        var good = repo.Targets(1, ["y"]);

        var result = await repo.PublishAsync(("root", repo.Root()), ("targets", broken), ("targets", good));

        Assert.True(result.IsAccepted, result.Error?.Message);
        Assert.Equal(good, result.Files.Single(f => f.Role == "targets").Data);
    }

    [Fact]
    public async Task TargetsRoles_AreValidatedParentsFirstWhateverTheUploadOrder()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ed25519();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, delegations: [new Delegation("targets/a", [a], Paths: [""])]);
        var roleA = TestRepository.Sign(repo.TargetsBody(1, delegations: [new Delegation("targets/a/b", [ab], Paths: ["b/"])]), a);
        var roleAb = TestRepository.Sign(repo.TargetsBody(1, ["b/file"]), ab);

        var result = await repo.PublishAsync(("targets/a/b", roleAb), ("targets/a", roleA), ("targets", targets));

        Assert.True(result.IsAccepted, result.Error?.Message);
        Assert.Equal(["targets", "targets/a", "targets/a/b", "snapshot", "timestamp"], result.Files.Select(f => f.Role));
    }

    [Fact]
    public async Task Delegation_ParentsComeFromStorageWhenNotUploaded()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        using var ab = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        var targets = repo.Targets(2, delegations: [new Delegation("targets/a", [a], Paths: [""])]);
        var roleA = TestRepository.Sign(repo.TargetsBody(1, delegations: [new Delegation("targets/a/b", [ab], Paths: [""])]), a);
        Assert.True((await repo.PublishAsync(("targets", targets), ("targets/a", roleA))).IsAccepted);

        var result = await repo.PublishAsync(("targets/a/b", TestRepository.Sign(repo.TargetsBody(1, ["deep"]), ab)));

        Assert.True(result.IsAccepted, result.Error?.Message);
        var snapshot = MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(result.Files.Single(f => f.Role == "snapshot").Data));
        Assert.Equal(["root", "targets", "targets/a", "targets/a/b"], snapshot.Meta.Keys.Order(StringComparer.Ordinal));
    }
}

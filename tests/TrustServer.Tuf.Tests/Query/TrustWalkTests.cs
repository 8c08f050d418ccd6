using System.Security.Cryptography;
using System.Text;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Query;
using TrustServer.Tuf.Tests.Support;

namespace TrustServer.Tuf.Tests.Query;

/// <summary>
/// The trust queries' walk (<see cref="TrustWalk"/>, <see cref="TrustView"/>): the notary client's delegation order and
/// path rules, signatures and thresholds against the parent's keys, expiry, and the verify verdicts.
/// </summary>
public sealed class TrustWalkTests : IDisposable
{
    private readonly TestRepository _repo = new();
    private readonly KeySigner _a = KeySigner.Ecdsa();
    private readonly KeySigner _b = KeySigner.Ecdsa();
    private readonly KeySigner _c = KeySigner.Ecdsa();
    private readonly KeySigner _stranger = KeySigner.Ecdsa();
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    private DateTimeOffset Now => _repo.Clock.Now;

    [Fact]
    public async Task PlainTargets_LookupIsTheTargetsEntry()
    {
        var view = await WalkAsync(Targets(["v1", "v2"]), []);

        Assert.Null(view.Broken);
        Assert.Equal(["v1", "v2"], view.Names());
        var pick = view.Lookup("v1");
        Assert.NotNull(pick);
        Assert.Equal("targets", pick.Role.Name);
        Assert.Equal(SHA256.HashData(Content("v1")), pick.Meta.Hashes["sha256"]);
        Assert.Equal([_repo.TargetsKey.PublicKey.Id], pick.Role.KeyIds);
        Assert.Null(view.Lookup("v3"));
        Assert.Empty(view.SignersOf("v3"));
    }

    [Fact]
    public async Task Delegations_PreOrderWalkInFileOrder_PathsRestrictedByAncestors()
    {
        // targets → [a (paths x/), b (all)], a → [a/c (paths x/deep/ and y/: y/ is outside a's paths)].
        var targets = Targets([], new Delegation("targets/a", [_a], Paths: ["x/"]), new Delegation("targets/b", [_b], Paths: [""]));
        var a = Delegated("targets/a", _a, ["x/1", "x/deep/1", "y/1"], new Delegation("targets/a/c", [_c], Paths: ["x/deep/", "y/"]));
        var c = Delegated("targets/a/c", _c, ["x/deep/1", "y/2"]);
        var b = Delegated("targets/b", _b, ["x/1", "x/deep/1", "y/1"], digestSeed: "b");
        var view = await WalkAsync(targets, [("targets/a", a), ("targets/a/c", c), ("targets/b", b)]);

        Assert.Equal(["targets", "targets/a", "targets/a/c", "targets/b"], view.Roles.Select(r => r.Name));
        Assert.Equal(["x/deep/"], view.Roles.Single(r => r.Name == "targets/a/c").Paths);
        Assert.Equal(["targets/a", "targets/b"], view.SignersOf("x/1").Select(s => s.Role.Name));
        Assert.Equal(["targets/a", "targets/a/c", "targets/b"], view.SignersOf("x/deep/1").Select(s => s.Role.Name));

        // y/1: a's file lists it but a may not sign it; b may. y/2: only c lists it, outside its restricted paths.
        Assert.Equal("targets/b", view.Lookup("y/1")!.Role.Name);
        Assert.Empty(view.SignersOf("y/2"));
        Assert.DoesNotContain("y/2", view.Names());
        Assert.Equal("targets/a", view.Lookup("x/deep/1")!.Role.Name);
        Assert.Equal("targets/a/c", view.Lookup("x/deep/1", within: "targets/a/c")!.Role.Name);
        Assert.Equal("targets/b", view.Lookup("x/1", within: "targets/b")!.Role.Name);
    }

    [Fact]
    public async Task DelegationSignedByAKeyItWasNotGiven_IsExcludedAndTheWalkFallsThrough()
    {
        var targets = Targets([], new Delegation("targets/a", [_a], Paths: [""]), new Delegation("targets/b", [_b], Paths: [""]));
        var a = Delegated("targets/a", _stranger, ["v1"], new Delegation("targets/a/c", [_c], Paths: [""]));
        var c = Delegated("targets/a/c", _c, ["v1"]);
        var b = Delegated("targets/b", _b, ["v1"], digestSeed: "b");
        var view = await WalkAsync(targets, [("targets/a", a), ("targets/a/c", c), ("targets/b", b)]);

        var excluded = view.Roles.Single(r => r.Name == "targets/a").Excluded;
        Assert.Equal(TrustReasonCodes.RoleInvalid, excluded?.Code);
        Assert.Contains("threshold", excluded!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(view.Roles, r => r.Name == "targets/a/c"); // an excluded role's delegations are not walked
        Assert.Equal("targets/b", view.Lookup("v1")!.Role.Name);

        var verdict = view.Verify(Request("v1", requiredRoles: ["targets/a"]));
        Assert.False(verdict.Verified);
        Assert.Contains(verdict.Reasons, r => r.Code == TrustReasonCodes.RoleInvalid && r.Role == "targets/a");
        Assert.Contains(verdict.Reasons, r => r.Code == TrustReasonCodes.RequiredSignerMissing && r.Role == "targets/a");
    }

    [Fact]
    public async Task DelegationThreshold_CountsDistinctValidKeys()
    {
        var targets = Targets([], new Delegation("targets/two", [_a, _b], Threshold: 2, Paths: [""]));
        var one = await WalkAsync(targets, [("targets/two", Delegated("targets/two", [_a, _a], ["v1"]))]);
        Assert.Equal(TrustReasonCodes.RoleInvalid, one.Roles.Single(r => r.Name == "targets/two").Excluded?.Code);
        Assert.Null(one.Lookup("v1"));
        Assert.Contains(one.Verify(Request("v1")).Reasons, r => r.Code == TrustReasonCodes.Unsigned);

        var both = await WalkAsync(targets, [("targets/two", Delegated("targets/two", [_a, _b], ["v1"]))]);
        var pick = both.Lookup("v1");
        Assert.Equal("targets/two", pick?.Role.Name);
        Assert.Equal(2, pick!.Role.Threshold);
        Assert.True(both.Verify(Request("v1")).Verified);
    }

    [Fact]
    public async Task ExpiredDelegation_IsExcludedWithItsSubtree_ExpiredTargetsBreaksTheRepository()
    {
        var targets = Targets(["v1"], new Delegation("targets/old", [_a], Paths: [""]));
        var old = Delegated("targets/old", _a, ["v1", "v2"], new Delegation("targets/old/c", [_c], Paths: [""]), expires: Now.AddSeconds(-1));
        var view = await WalkAsync(targets, [("targets/old", old), ("targets/old/c", Delegated("targets/old/c", _c, ["v3"]))]);
        Assert.Equal(TrustReasonCodes.RoleExpired, view.Roles.Single(r => r.Name == "targets/old").Excluded?.Code);
        Assert.DoesNotContain(view.Roles, r => r.Name == "targets/old/c");
        Assert.Equal("targets", view.Lookup("v1")!.Role.Name);
        Assert.Null(view.Lookup("v2"));
        var verdict = view.Verify(Request("v2"));
        Assert.Equal([TrustReasonCodes.RoleExpired, TrustReasonCodes.Unsigned], verdict.Reasons.Select(r => r.Code));

        var expiredTargets = await WalkAsync(TestRepository.Sign(_repo.TargetsBody(1, ["v1"], expires: Now.AddSeconds(-1)), _repo.TargetsKey), []);
        Assert.Equal(TrustReasonCodes.RoleExpired, expiredTargets.Broken?.Code);
        Assert.Equal("targets", expiredTargets.Broken?.Role);
        Assert.Null(expiredTargets.Lookup("v1"));
        Assert.False(expiredTargets.Verify(Request("v1")).Verified);
    }

    [Fact]
    public async Task View_HoldsUntilTheEarliestExpiryAhead()
    {
        var targets = Targets([], new Delegation("targets/a", [_a], Paths: [""]));
        var soon = Now.AddMinutes(5);
        var view = await WalkAsync(targets, [("targets/a", Delegated("targets/a", _a, ["v1"], expires: soon))]);
        Assert.True(view.HoldsAt(Now));
        Assert.True(view.HoldsAt(soon));
        Assert.False(view.HoldsAt(soon.AddTicks(1)));
    }

    [Fact]
    public async Task TargetsNotSignedByTheRootsTargetsKey_BreaksTheRepository()
    {
        var view = await WalkAsync(TestRepository.Sign(_repo.TargetsBody(1, ["v1"]), _stranger), []);
        Assert.Equal(TrustReasonCodes.RoleInvalid, view.Broken?.Code);
        Assert.Null(view.Lookup("v1"));
    }

    [Fact]
    public async Task Verify_DigestRequiredRolesThresholdAndPinnedRoot()
    {
        var targets = Targets([], new Delegation("targets/releases", [_a], Paths: [""]), new Delegation("targets/alice", [_b], Paths: [""]),
            new Delegation("targets/bob", [_c], Paths: [""]));
        var view = await WalkAsync(targets, [
            ("targets/releases", Delegated("targets/releases", _a, ["v1"])),
            ("targets/alice", Delegated("targets/alice", _b, ["v1"])),
            ("targets/bob", Delegated("targets/bob", _c, ["v1"], digestSeed: "bob")),
        ]);
        var good = new TargetDigest("sha256", SHA256.HashData(Content("v1")));
        var bobs = new TargetDigest("sha256", SHA256.HashData(Content("v1", "bob")));

        var ok = view.Verify(Request("v1", good, ["targets/releases", "targets/alice"], threshold: 2));
        Assert.True(ok.Verified, string.Join("; ", ok.Reasons));
        Assert.Equal(["targets/releases", "targets/alice"], ok.SignedBy);
        Assert.Equal(good.ToString(), ok.Digest?.ToString());

        var implicitDigest = view.Verify(Request("v1"));
        Assert.Equal(good.ToString(), implicitDigest.Digest?.ToString()); // the lookup pick's digest

        var bob = view.Verify(Request("v1", bobs, ["targets/releases"], threshold: 2));
        Assert.False(bob.Verified);
        Assert.Equal(["targets/bob"], bob.SignedBy);
        Assert.Equal([TrustReasonCodes.RequiredSignerMissing, TrustReasonCodes.ThresholdNotMet], bob.Reasons.Select(r => r.Code));

        var mismatch = view.Verify(Request("v1", new TargetDigest("sha512", new byte[64])));
        Assert.Equal([TrustReasonCodes.DigestMismatch], mismatch.Reasons.Select(r => r.Code));

        Assert.Equal([TrustReasonCodes.Unsigned], view.Verify(Request("nothing")).Reasons.Select(r => r.Code));

        var rootKey = _repo.RootSigner.PublicKey;
        Assert.True(view.Verify(Request("v1", rootKeyIds: [rootKey.Id])).Verified);
        Assert.True(view.Verify(Request("v1", rootKeyIds: [rootKey.CanonicalId])).Verified);
        var otherRoot = view.Verify(Request("v1", rootKeyIds: [_stranger.PublicKey.Id]));
        Assert.False(otherRoot.Verified);
        Assert.Equal([TrustReasonCodes.RootNotPinned], otherRoot.Reasons.Select(r => r.Code));
    }

    [Fact]
    public void TargetDigest_ParsesOnlyLowercaseSha256AndSha512()
    {
        Assert.NotNull(TargetDigest.TryParse("sha256:" + new string('a', 64)));
        Assert.NotNull(TargetDigest.TryParse("sha512:" + new string('0', 128)));
        Assert.Null(TargetDigest.TryParse("sha256:" + new string('A', 64)));
        Assert.Null(TargetDigest.TryParse("sha256:" + new string('a', 63)));
        Assert.Null(TargetDigest.TryParse("md5:" + new string('a', 32)));
        Assert.Null(TargetDigest.TryParse("sha256" + new string('a', 64)));
        Assert.Null(TargetDigest.TryParse(null));
    }

    public void Dispose()
    {
        _repo.Dispose();
        foreach (var key in new[] { _a, _b, _c, _stranger })
        {
            key.Dispose();
        }
    }

    private static byte[] Content(string name, string seed = "") => Encoding.UTF8.GetBytes(seed + "content of " + name);

    private static TrustRequest Request(string name, TargetDigest? digest = null, string[]? requiredRoles = null, int threshold = 1, string[]? rootKeyIds = null) =>
        new(name, digest, requiredRoles ?? [], threshold, rootKeyIds ?? []);

    private byte[] Targets(string[] names, params Delegation[] delegations) =>
        TestRepository.Sign(_repo.TargetsBody(1, names, delegations), _repo.TargetsKey);

    private byte[] Delegated(string role, KeySigner key, string[] names, Delegation? child = null, DateTimeOffset? expires = null, string digestSeed = "") =>
        Delegated(role, [key], names, child, expires, digestSeed);

    private byte[] Delegated(string role, KeySigner[] keys, string[] names, Delegation? child = null, DateTimeOffset? expires = null, string digestSeed = "")
    {
        var body = _repo.TargetsBody(1, [], child is null ? [] : [child], expires);
        var targets = (JsonObject)body["targets"]!;
        foreach (var name in names)
        {
            targets.Set(name, FileMeta.Of(Content(name, digestSeed)).ToJson());
        }

        return TestRepository.Sign(body, [.. keys]);
    }

    // Root, the given targets and delegations, a snapshot naming them and a timestamp naming it; walked at Now.
    private async Task<TrustView> WalkAsync(byte[] targets, (string Role, byte[] Bytes)[] delegations)
    {
        var root = _repo.Root();
        var snapshot = _repo.Snapshot(1, [("root", root), ("targets", targets), .. delegations]);
        var timestampBody = new JsonObject()
            .Set("_type", new JsonString("Timestamp"))
            .Set("expires", new JsonString(TufExpiry.FromInstant(_repo.DefaultExpiry).Text))
            .Set("meta", new JsonObject().Set("snapshot", FileMeta.Of(snapshot).ToJson()))
            .Set("version", new JsonNumber(1));
        var timestamp = TestRepository.Sign(timestampBody, _repo.TimestampKey);
        foreach (var file in new[] { root, targets, snapshot }.Concat(delegations.Select(d => d.Bytes)))
        {
            _files[Convert.ToHexStringLower(SHA256.HashData(file))] = file;
        }

        return await TrustWalk.WalkAsync(_repo.Gun, timestamp, (_, sha256, _) => ValueTask.FromResult(_files.GetValueOrDefault(sha256)), Now);
    }
}

using TrustServer.Tuf.Json;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Support;

/// <summary>A delegation declared in a targets file.</summary>
internal sealed record Delegation(string Name, IMetadataSigner[] Keys, long Threshold = 1, string[]? Paths = null);

/// <summary>
/// A repository under test: client keys (x509 root with CN = GUN, targets, snapshot), a server signer holding the
/// timestamp key, a settable clock, and the stored state that accepted updates are applied to.
/// </summary>
internal sealed class TestRepository : IDisposable
{
    public const string DefaultGun = "example.com/test/repo";

    private readonly Dictionary<string, byte[]> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _highest = new(StringComparer.Ordinal);

    public TestRepository(string gun = DefaultGun, bool serverManagesSnapshot = false)
    {
        Gun = gun;
        RootSigner = CertificateSigner.Create(gun);
        Server.Hold(TimestampKey.Key);
        if (serverManagesSnapshot)
        {
            Server.Hold(SnapshotKey.Key);
        }

        Validator = new UpdateValidator(Clock);
    }

    public string Gun { get; }

    public ManualTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    public CertificateSigner RootSigner { get; set; }

    public KeySigner TargetsKey { get; set; } = KeySigner.Ecdsa();

    public KeySigner SnapshotKey { get; set; } = KeySigner.Ecdsa();

    public KeySigner TimestampKey { get; set; } = KeySigner.Ecdsa();

    public TestServerSigner Server { get; } = new();

    public UpdateValidator Validator { get; }

    public RepositoryState State => new(new Dictionary<string, byte[]>(_current), new Dictionary<string, long>(_highest));

    public DateTimeOffset DefaultExpiry => Clock.Now.AddYears(1);

    /// <summary>Signs a body with each signer and assembles the file as Notary writes it.</summary>
    public static byte[] Sign(JsonObject body, params IMetadataSigner[] signers)
    {
        var canonical = CanonicalJson.Encode(body);
        return SignedEnvelope.Assemble(canonical, signers.Select(s => s.Sign(canonical)));
    }

    public static JsonObject RoleEntry(IEnumerable<IMetadataSigner> keys, long threshold) =>
        new JsonObject()
            .Set("keyids", new JsonArray(keys.Select(k => (JsonValue)new JsonString(k.PublicKey.Id))))
            .Set("threshold", new JsonNumber(threshold));

    public JsonObject RootBody(long version = 1, IMetadataSigner[]? rootKeys = null, long rootThreshold = 1, DateTimeOffset? expires = null)
    {
        rootKeys ??= [RootSigner];
        var keys = new JsonObject();
        foreach (var key in rootKeys.Concat<IMetadataSigner>([TargetsKey, SnapshotKey, TimestampKey]))
        {
            keys.Set(key.PublicKey.Id, key.PublicKey.ToJson());
        }

        return new JsonObject()
            .Set("_type", new JsonString("Root"))
            .Set("consistent_snapshot", JsonLiteral.False())
            .Set("expires", Expiry(expires))
            .Set("keys", keys)
            .Set("roles", new JsonObject()
                .Set("root", RoleEntry(rootKeys, rootThreshold))
                .Set("snapshot", RoleEntry([SnapshotKey], 1))
                .Set("targets", RoleEntry([TargetsKey], 1))
                .Set("timestamp", RoleEntry([TimestampKey], 1)))
            .Set("version", new JsonNumber(version));
    }

    public byte[] Root(long version = 1) => Sign(RootBody(version), RootSigner);

    public JsonObject TargetsBody(long version, IEnumerable<string>? targetNames = null, IEnumerable<Delegation>? delegations = null, DateTimeOffset? expires = null)
    {
        var targets = new JsonObject();
        foreach (var name in targetNames ?? [])
        {
            targets.Set(name, FileMeta.Of(System.Text.Encoding.UTF8.GetBytes("content of " + name)).ToJson());
        }

        var delegationKeys = new JsonObject();
        var delegationRoles = new JsonArray();
        foreach (var delegation in delegations ?? [])
        {
            foreach (var key in delegation.Keys)
            {
                delegationKeys.Set(key.PublicKey.Id, key.PublicKey.ToJson());
            }

            var role = RoleEntry(delegation.Keys, delegation.Threshold).Set("name", new JsonString(delegation.Name));
            if (delegation.Paths is { Length: > 0 } paths)
            {
                role.Set("paths", new JsonArray(paths.Select(p => (JsonValue)new JsonString(p))));
            }

            delegationRoles = new JsonArray(delegationRoles.Items.Append(role));
        }

        return new JsonObject()
            .Set("_type", new JsonString("Targets"))
            .Set("delegations", new JsonObject().Set("keys", delegationKeys).Set("roles", delegationRoles))
            .Set("expires", Expiry(expires))
            .Set("targets", targets)
            .Set("version", new JsonNumber(version));
    }

    public byte[] Targets(long version, IEnumerable<string>? targetNames = null, IEnumerable<Delegation>? delegations = null) =>
        Sign(TargetsBody(version, targetNames, delegations), TargetsKey);

    public JsonObject SnapshotBody(long version, IEnumerable<(string Role, byte[] Bytes)> files, DateTimeOffset? expires = null)
    {
        var meta = new JsonObject();
        foreach (var (role, bytes) in files)
        {
            meta.Set(role, FileMeta.Of(bytes).ToJson());
        }

        return new JsonObject()
            .Set("_type", new JsonString("Snapshot"))
            .Set("expires", Expiry(expires))
            .Set("meta", meta)
            .Set("version", new JsonNumber(version));
    }

    public byte[] Snapshot(long version, params (string Role, byte[] Bytes)[] files) => Sign(SnapshotBody(version, files), SnapshotKey);

    public static MetadataUpload Upload(string role, byte[] bytes) => MetadataUpload.Parse(role, bytes);

    /// <summary>Validates the uploads and, when accepted, stores the resulting files.</summary>
    public async Task<UpdateResult> PublishAsync(params (string Role, byte[] Bytes)[] files)
    {
        var result = await Validator.ValidateAsync(Gun, State, files.Select(f => Upload(f.Role, f.Bytes)), Server);
        if (result.IsAccepted)
        {
            foreach (var file in result.Files)
            {
                _current[file.Role] = file.Data;
                _highest[file.Role] = Math.Max(_highest.GetValueOrDefault(file.Role), file.Version);
            }
        }

        return result;
    }

    /// <summary>Publishes a new repository as `notary init --publish` does: root v1, targets v1, snapshot v1.</summary>
    public async Task<UpdateResult> InitializeAsync()
    {
        var root = Root();
        var targets = Targets(1);
        var files = new List<(string, byte[])> { ("root", root), ("targets", targets) };
        if (!Server.Holds(SnapshotKey))
        {
            files.Add(("snapshot", Snapshot(1, ("root", root), ("targets", targets))));
        }

        var result = await PublishAsync([.. files]);
        Assert.True(result.IsAccepted, result.Error?.Message);
        return result;
    }

    public byte[] Current(string role) => _current[role];

    public void Dispose()
    {
        RootSigner.Dispose();
        TargetsKey.Dispose();
        SnapshotKey.Dispose();
        TimestampKey.Dispose();
    }

    private JsonString Expiry(DateTimeOffset? expires) => new(TufExpiry.FromInstant(expires ?? DefaultExpiry).Text);
}

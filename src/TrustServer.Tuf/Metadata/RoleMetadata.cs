using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;

namespace TrustServer.Tuf.Metadata;

/// <summary>Metadata <c>_type</c> values.</summary>
public static class MetadataType
{
    /// <summary>Root files.</summary>
    public const string Root = "Root";

    /// <summary>Targets and every delegated role file.</summary>
    public const string Targets = "Targets";

    /// <summary>Snapshot files.</summary>
    public const string Snapshot = "Snapshot";

    /// <summary>Timestamp files.</summary>
    public const string Timestamp = "Timestamp";
}

/// <summary>A role's keys and threshold: <c>{"keyids":[…],"threshold":n}</c>, plus name/paths for delegations.</summary>
public sealed record RoleKeys(string Name, IReadOnlyList<string> KeyIds, long Threshold, IReadOnlyList<string> Paths)
{
    internal static RoleKeys FromJson(string name, JsonObject obj, string context) => new(
        name,
        JsonRead.StringArray(obj, "keyids", context),
        JsonRead.Int64(obj, "threshold", context),
        JsonRead.StringArray(obj, "paths", context));
}

/// <summary>A role resolved to its public keys (by key ID) and threshold, ready for signature verification.</summary>
public sealed record BaseRole(string Name, IReadOnlyDictionary<string, TufPublicKey> Keys, long Threshold);

/// <summary>The fields every role body has.</summary>
public abstract class RoleMetadata
{
    private protected RoleMetadata(SignedEnvelope envelope)
    {
        Envelope = envelope;
        Type = envelope.Type;
        Version = envelope.Version;
        Expires = envelope.Expires;
    }

    /// <summary>The file this body came from.</summary>
    public SignedEnvelope Envelope { get; }

    /// <summary><c>_type</c>.</summary>
    public string Type { get; }

    /// <summary><c>version</c>.</summary>
    public long Version { get; }

    /// <summary><c>expires</c>, verbatim and parsed.</summary>
    public TufExpiry Expires { get; }

    private protected static TufFormatException Invalid(string role, string message) =>
        new($"{role} type metadata invalid: {message}");

    private protected void CheckTypeAndVersion(string role, string expectedType, string lowVersionMessage)
    {
        if (Type != expectedType)
        {
            throw Invalid(role, $"expected type {expectedType}, not {Type}");
        }

        if (Version < 1)
        {
            throw Invalid(role, lowVersionMessage);
        }
    }

    private protected static Dictionary<string, TufPublicKey> ReadKeys(JsonObject? keys, string context)
    {
        var result = new Dictionary<string, TufPublicKey>(StringComparer.Ordinal);
        if (keys is not null)
        {
            foreach (var (id, key) in keys.Members)
            {
                result[id] = TufPublicKey.FromJson(key, $"{context}[{id}]");
            }
        }

        return result;
    }

    // Threshold ≥ 1 and every key ID listed by the role present in the key map (Go isValidRootRoleStructure).
    private protected static void CheckRoleStructure(string containingRole, RoleKeys role, IReadOnlyDictionary<string, TufPublicKey> keys)
    {
        if (role.Threshold < 1)
        {
            throw Invalid(containingRole, $"invalid threshold specified for {role.Name}: {role.Threshold} ");
        }

        foreach (var keyId in role.KeyIds)
        {
            if (!keys.ContainsKey(keyId))
            {
                throw Invalid(containingRole, $"key ID {keyId} specified in {role.Name} without corresponding key");
            }
        }
    }
}

/// <summary><c>root.json</c> (spec tuf-metadata.md §3).</summary>
public sealed class RootMetadata : RoleMetadata
{
    private RootMetadata(SignedEnvelope envelope)
        : base(envelope)
    {
        var body = envelope.Signed;
        Keys = ReadKeys(JsonRead.OptionalObject(body, "keys", "root"), "root.keys");
        var roles = new Dictionary<string, RoleKeys>(StringComparer.Ordinal);
        var roleObject = JsonRead.OptionalObject(body, "roles", "root");
        if (roleObject is not null)
        {
            foreach (var (name, value) in roleObject.Members)
            {
                if (value is JsonLiteral { Kind: JsonValueKind.Null })
                {
                    continue; // a null role entry counts as missing, as in Go
                }

                roles[name] = RoleKeys.FromJson(name, JsonRead.Object(value, $"root.roles.{name}"), $"root.roles.{name}");
            }
        }

        Roles = roles;
        ConsistentSnapshot = JsonRead.Boolean(body, "consistent_snapshot", "root");
    }

    /// <summary><c>keys</c>: key ID → key.</summary>
    public IReadOnlyDictionary<string, TufPublicKey> Keys { get; }

    /// <summary><c>roles</c>: role name → keys and threshold.</summary>
    public IReadOnlyDictionary<string, RoleKeys> Roles { get; }

    /// <summary><c>consistent_snapshot</c> (ignored by the server).</summary>
    public bool ConsistentSnapshot { get; }

    /// <summary>Parses and structure-checks a root body (Go <c>RootFromSigned</c>).</summary>
    public static RootMetadata FromEnvelope(SignedEnvelope envelope)
    {
        var root = new RootMetadata(envelope);
        root.CheckTypeAndVersion(RoleName.Root, MetadataType.Root, "version cannot be less than 1");
        foreach (var role in RoleName.BaseRoles)
        {
            if (!root.Roles.TryGetValue(role, out var keys))
            {
                throw Invalid(RoleName.Root, $"missing {role} role specification");
            }

            CheckRoleStructure(RoleName.Root, keys, root.Keys);
        }

        return root;
    }

    /// <summary>One of the base roles resolved to its keys.</summary>
    public BaseRole GetBaseRole(string name)
    {
        var role = Roles[name];
        return new BaseRole(name, role.KeyIds.ToDictionary(id => id, id => Keys[id], StringComparer.Ordinal), role.Threshold);
    }
}

/// <summary><c>targets.json</c> or a delegated <c>targets/…</c> file (spec tuf-metadata.md §4).</summary>
public sealed class TargetsMetadata : RoleMetadata
{
    private TargetsMetadata(SignedEnvelope envelope, string role)
        : base(envelope)
    {
        var body = envelope.Signed;
        Role = role;
        Targets = FileMeta.MapFromJson(body, "targets", role);
        var delegations = JsonRead.OptionalObject(body, "delegations", role);
        DelegationKeys = ReadKeys(delegations is null ? null : JsonRead.OptionalObject(delegations, "keys", $"{role}.delegations"), $"{role}.delegations.keys");
        var roles = new List<RoleKeys>();
        var roleArray = delegations is null ? null : JsonRead.OptionalArray(delegations, "roles", $"{role}.delegations");
        for (var i = 0; i < (roleArray?.Items.Count ?? 0); i++)
        {
            var context = $"{role}.delegations.roles[{i}]";
            var obj = JsonRead.Object(roleArray!.Items[i], context);
            roles.Add(RoleKeys.FromJson(JsonRead.String(obj, "name", context), obj, context));
        }

        DelegationRoles = roles;
    }

    /// <summary>The role this file belongs to.</summary>
    public string Role { get; }

    /// <summary><c>targets</c>: path → file metadata.</summary>
    public IReadOnlyDictionary<string, FileMeta> Targets { get; }

    /// <summary><c>delegations.keys</c>.</summary>
    public IReadOnlyDictionary<string, TufPublicKey> DelegationKeys { get; }

    /// <summary><c>delegations.roles</c>, in file order.</summary>
    public IReadOnlyList<RoleKeys> DelegationRoles { get; }

    /// <summary>Parses and structure-checks a targets body for <paramref name="role"/> (Go <c>TargetsFromSigned</c>).</summary>
    public static TargetsMetadata FromEnvelope(SignedEnvelope envelope, string role)
    {
        if (!RoleName.IsTargetsRole(role))
        {
            throw new TufFormatException($"tuf: invalid role {role}.");
        }

        var targets = new TargetsMetadata(envelope, role);
        targets.CheckTypeAndVersion(role, MetadataType.Targets, "version cannot be less than one");
        foreach (var delegation in targets.DelegationRoles)
        {
            if (!RoleName.IsDelegation(delegation.Name) || RoleName.Parent(delegation.Name) != role)
            {
                throw Invalid(role, $"delegation role {delegation.Name} invalid");
            }

            CheckRoleStructure(role, delegation, targets.DelegationKeys);
        }

        return targets;
    }

    /// <summary>A directly delegated role resolved to its keys, or null when this file does not delegate it.</summary>
    public BaseRole? FindDelegation(string name, out RoleKeys? declaration)
    {
        declaration = DelegationRoles.FirstOrDefault(r => r.Name == name);
        if (declaration is null)
        {
            return null;
        }

        var keys = new Dictionary<string, TufPublicKey>(StringComparer.Ordinal);
        foreach (var keyId in declaration.KeyIds)
        {
            if (!DelegationKeys.TryGetValue(keyId, out var key))
            {
                throw new TufFormatException($"tuf: invalid role {name}. role lists unknown key {keyId} as a signing key");
            }

            keys[keyId] = key;
        }

        return new BaseRole(name, keys, declaration.Threshold);
    }
}

/// <summary>Snapshot and timestamp bodies: a <c>meta</c> map of role → FileMeta.</summary>
public sealed class MetaListMetadata : RoleMetadata
{
    private MetaListMetadata(SignedEnvelope envelope, string role)
        : base(envelope) => Meta = FileMeta.MapFromJson(envelope.Signed, "meta", role);

    /// <summary><c>meta</c>: role name → file metadata.</summary>
    public IReadOnlyDictionary<string, FileMeta> Meta { get; }

    /// <summary>Parses and structure-checks a snapshot body (Go <c>SnapshotFromSigned</c>).</summary>
    public static MetaListMetadata SnapshotFromEnvelope(SignedEnvelope envelope)
    {
        var snapshot = new MetaListMetadata(envelope, RoleName.Snapshot);
        var problem = snapshot.StructureProblem(isSnapshot: true);
        return problem is null ? snapshot : throw Invalid(RoleName.Snapshot, problem);
    }

    /// <summary>Parses and structure-checks a timestamp body (Go <c>TimestampFromSigned</c>).</summary>
    public static MetaListMetadata TimestampFromEnvelope(SignedEnvelope envelope)
    {
        var timestamp = new MetaListMetadata(envelope, RoleName.Timestamp);
        var problem = timestamp.StructureProblem(isSnapshot: false);
        return problem is null ? timestamp : throw Invalid(RoleName.Timestamp, problem);
    }

    // Snapshot: root and targets need sha256 entries; timestamp: snapshot needs one (Go IsValid*Structure).
    private string? StructureProblem(bool isSnapshot)
    {
        var expectedType = isSnapshot ? MetadataType.Snapshot : MetadataType.Timestamp;
        if (Type != expectedType)
        {
            return $"expected type {expectedType}, not {Type}";
        }

        if (Version < 1)
        {
            return "version cannot be less than one";
        }

        string[] required = isSnapshot ? [RoleName.Root, RoleName.Targets] : [RoleName.Snapshot];
        foreach (var file in required)
        {
            var hashes = Meta.TryGetValue(file, out var meta) ? meta.Hashes : new Dictionary<string, byte[]>();
            if (!hashes.ContainsKey(HashAlgorithmNames.Sha256))
            {
                return $"missing {file} sha256 checksum information";
            }

            var hashProblem = FileMeta.CheckHashStructure(hashes);
            if (hashProblem is not null)
            {
                return $"invalid {file} checksum information, {hashProblem}";
            }
        }

        return null;
    }
}

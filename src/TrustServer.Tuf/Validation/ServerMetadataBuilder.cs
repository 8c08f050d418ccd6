using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>
/// Builds and signs the files the server generates: snapshot and timestamp (spec tuf-metadata.md §14–16,
/// validation.md §5.2 and §6). Used for updates and for re-signing; <paramref name="lifetimes"/> (default
/// <see cref="ServerLifetimes.Default"/>) says how long what it signs stays valid.
/// </summary>
public sealed class ServerMetadataBuilder(TimeProvider timeProvider, ServerLifetimes? lifetimes = null)
{
    private readonly ServerLifetimes _lifetimes = lifetimes ?? ServerLifetimes.Default;

    /// <summary>
    /// The canonical body of the next snapshot: every entry of <paramref name="previous"/> kept, the given role
    /// files described by their exact bytes (sha256, sha512, length); version previous + 1 (or 1).
    /// </summary>
    public byte[] SnapshotBody(MetaListMetadata? previous, IEnumerable<KeyValuePair<string, byte[]>> roleFiles)
    {
        var meta = new Dictionary<string, FileMeta>(previous?.Meta ?? new Dictionary<string, FileMeta>(), StringComparer.Ordinal);
        foreach (var (role, bytes) in roleFiles)
        {
            meta[role] = FileMeta.Of(bytes);
        }

        return Body(MetadataType.Snapshot, (previous?.Version ?? 0) + 1, _lifetimes.Snapshot, meta);
    }

    /// <summary>The canonical body of the next timestamp, describing the exact snapshot bytes.</summary>
    public byte[] TimestampBody(MetaListMetadata? previous, ReadOnlySpan<byte> snapshotFile)
    {
        var meta = new Dictionary<string, FileMeta> { [RoleName.Snapshot] = FileMeta.Of(snapshotFile) };
        return Body(MetadataType.Timestamp, (previous?.Version ?? 0) + 1, _lifetimes.Timestamp, meta);
    }

    /// <summary>
    /// Signs a body with the role's keys held by <paramref name="signer"/> and assembles the file. Returns null
    /// when fewer than the role's threshold of distinct keys produced a valid signature.
    /// </summary>
    public static async Task<byte[]?> SignAsync(
        string gun, BaseRole role, byte[] canonicalBody, IServerSigner signer, CancellationToken cancellationToken)
    {
        var keys = role.Keys.Values.ToList();
        var produced = await signer.SignAsync(gun, role.Name, keys, canonicalBody, cancellationToken).ConfigureAwait(false);

        // Only signatures that really verify with a key of the role count; a signer returning garbage must not
        // produce a file clients will reject.
        var accepted = new List<TufSignature>();
        foreach (var signature in produced)
        {
            if (role.Keys.TryGetValue(signature.KeyId, out var key)
                && accepted.All(s => s.KeyId != signature.KeyId)
                && SignatureVerifier.Verify(key, signature.Method, canonicalBody, signature.Value))
            {
                accepted.Add(signature);
            }
        }

        return accepted.Count >= role.Threshold && accepted.Count > 0 ? SignedEnvelope.Assemble(canonicalBody, accepted) : null;
    }

    private byte[] Body(string type, long version, TimeSpan lifetime, Dictionary<string, FileMeta> meta)
    {
        var metaObject = new JsonObject();
        foreach (var (role, fileMeta) in meta)
        {
            metaObject.Set(role, fileMeta.ToJson());
        }

        var expires = TufExpiry.FromInstant(timeProvider.GetUtcNow() + lifetime);
        return CanonicalJson.Encode(new JsonObject()
            .Set("_type", new JsonString(type))
            .Set("expires", new JsonString(expires.Text))
            .Set("meta", metaObject)
            .Set("version", new JsonNumber(version)));
    }
}

using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Keys;

/// <summary>What the key store tells about a key: its ID, algorithm, public bytes, and the GUN and role it was created for.</summary>
/// <param name="KeyId">TUF key ID (the row's <c>key_id</c>).</param>
/// <param name="Algorithm"><c>ecdsa</c> or <c>ed25519</c>.</param>
/// <param name="Public">DER SPKI (ecdsa, 91 bytes) or the raw 32-byte Ed25519 key: the gRPC <c>publicKey</c> bytes.</param>
/// <param name="Gun">GUN given at creation.</param>
/// <param name="Role">Role given at creation.</param>
public sealed record StoredKey(string KeyId, string Algorithm, byte[] Public, string Gun, string Role)
{
    /// <summary>The public key as it appears in metadata (keytype = algorithm).</summary>
    public TufPublicKey PublicKey => new(Algorithm, Public);

    /// <summary>Value equality, including the public key bytes.</summary>
    public bool Equals(StoredKey? other) =>
        other is not null && KeyId == other.KeyId && Algorithm == other.Algorithm && Gun == other.Gun && Role == other.Role
        && Public.AsSpan().SequenceEqual(other.Public);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(KeyId, Algorithm, Gun, Role);
}

/// <summary>A signature made by the key store.</summary>
/// <param name="Key">The key that signed.</param>
/// <param name="Method">The signature method: <c>ecdsa</c> or <c>eddsa</c> (spec signer.md §3, Sign).</param>
/// <param name="Value">Raw signature: r‖s (64 bytes) for ecdsa, 64 bytes for Ed25519.</param>
public sealed record StoredKeySignature(StoredKey Key, string Method, byte[] Value);

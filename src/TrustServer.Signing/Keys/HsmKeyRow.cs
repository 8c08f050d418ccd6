namespace TrustServer.Signing.Keys;

/// <summary>
/// One row of <c>hsm_keys</c> (ours, not notary-signer's): a server-managed key whose private half lives in a PKCS#11
/// token. Holds what the signer protocol needs (key ID, role, GUN, algorithm, public key, pending/active, deleted) and
/// the token object's <c>CKA_ID</c>/<c>CKA_LABEL</c> — never key material. A table of its own, so that notary-signer
/// (and older TrustServer replicas) reading <c>private_keys</c> never meet a row they cannot decrypt.
/// </summary>
internal sealed class HsmKeyRow
{
    public int Id { get; set; }

    public DateTime? CreatedAt { get; set; }

    public DateTime? UpdatedAt { get; set; }

    /// <summary>Set = soft-deleted (the token object is kept); such rows match no lookup.</summary>
    public DateTime? DeletedAt { get; set; }

    /// <summary>TUF key ID of the public key with keytype = <see cref="Algorithm"/>.</summary>
    public required string KeyId { get; set; }

    /// <summary><c>ecdsa</c> or <c>ed25519</c>.</summary>
    public required string Algorithm { get; set; }

    /// <summary>DER SPKI (ecdsa) or raw 32 bytes (ed25519), as in <c>private_keys.public</c>.</summary>
    public required byte[] Public { get; set; }

    public required string Gun { get; set; }

    public required string Role { get; set; }

    /// <summary>Null = pending (never signed with); set on signing as in <c>private_keys</c>.</summary>
    public DateTime? LastUsed { get; set; }

    /// <summary>CKA_ID of the token's private and public key objects.</summary>
    public required byte[] ObjectId { get; set; }

    /// <summary>CKA_LABEL of both objects.</summary>
    public required string ObjectLabel { get; set; }

    /// <summary>The label of the token the key was generated in (informational: the configured token is used).</summary>
    public required string TokenLabel { get; set; }
}

namespace TrustServer.Signing.Keys;

/// <summary>
/// One row of notary-signer's <c>private_keys</c> table (spec signer.md §5). Timestamps are UTC; on PostgreSQL they
/// live in <c>timestamp without time zone</c> columns, as in notary-signer's schema.
/// </summary>
internal sealed class PrivateKeyRow
{
    public int Id { get; set; }

    public DateTime? CreatedAt { get; set; }

    public DateTime? UpdatedAt { get; set; }

    /// <summary>Set = soft-deleted; such rows match no lookup (global query filter).</summary>
    public DateTime? DeletedAt { get; set; }

    /// <summary>TUF key ID of the public key with keytype = <see cref="Algorithm"/>.</summary>
    public required string KeyId { get; set; }

    /// <summary>Always <c>A256GCM</c>.</summary>
    public required string EncryptionAlg { get; set; }

    /// <summary>Always <c>PBES2-HS256+A128KW</c>.</summary>
    public required string KeywrapAlg { get; set; }

    /// <summary><c>ecdsa</c> or <c>ed25519</c>.</summary>
    public required string Algorithm { get; set; }

    /// <summary>The alias whose passphrase encrypted <see cref="Private"/>.</summary>
    public required string PassphraseAlias { get; set; }

    /// <summary>DER SPKI (ecdsa) or raw 32 bytes (ed25519).</summary>
    public required byte[] Public { get; set; }

    /// <summary>ASCII bytes of the JWE compact string.</summary>
    public required byte[] Private { get; set; }

    public required string Gun { get; set; }

    public required string Role { get; set; }

    /// <summary>Null = pending (never signed with); set on every successful sign.</summary>
    public DateTime? LastUsed { get; set; }
}

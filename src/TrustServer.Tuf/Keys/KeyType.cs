namespace TrustServer.Tuf.Keys;

/// <summary>The <c>keytype</c> values Notary knows (spec tuf-metadata.md §9).</summary>
public static class KeyType
{
    /// <summary>ECDSA public key as DER SubjectPublicKeyInfo.</summary>
    public const string Ecdsa = "ecdsa";

    /// <summary>ECDSA key wrapped in a PEM X.509 certificate chain.</summary>
    public const string EcdsaX509 = "ecdsa-x509";

    /// <summary>RSA public key as DER SubjectPublicKeyInfo.</summary>
    public const string Rsa = "rsa";

    /// <summary>RSA key wrapped in a PEM X.509 certificate chain.</summary>
    public const string RsaX509 = "rsa-x509";

    /// <summary>Raw 32-byte Ed25519 public key.</summary>
    public const string Ed25519 = "ed25519";

    /// <summary>True for the certificate-wrapped types.</summary>
    public static bool IsX509(string keyType) => keyType is EcdsaX509 or RsaX509;
}

/// <summary>The signature <c>method</c> values (spec tuf-metadata.md §11).</summary>
public static class SignatureMethod
{
    /// <summary>ECDSA, raw r‖s over SHA-256.</summary>
    public const string Ecdsa = "ecdsa";

    /// <summary>Ed25519 (note: not "ed25519").</summary>
    public const string EdDsa = "eddsa";

    /// <summary>RSASSA-PSS, SHA-256, salt 32.</summary>
    public const string RsaPss = "rsapss";

    /// <summary>RSASSA-PKCS1-v1_5 with SHA-256 (verify only).</summary>
    public const string RsaPkcs1v15 = "rsapkcs1v15";

    /// <summary>Legacy PyCrypto PSS with a PEM-encoded RSA key (verify only).</summary>
    public const string PyCryptoPss = "pycrypto-pkcs#1 pss";

    /// <summary>The method Notary produces for a key type (ECDSA → ecdsa, RSA → rsapss, Ed25519 → eddsa).</summary>
    public static string ForKeyType(string keyType) => keyType switch
    {
        KeyType.Ecdsa or KeyType.EcdsaX509 => Ecdsa,
        KeyType.Rsa or KeyType.RsaX509 => RsaPss,
        KeyType.Ed25519 => EdDsa,
        _ => throw new ArgumentException($"no signature method for key type '{keyType}'", nameof(keyType)),
    };
}

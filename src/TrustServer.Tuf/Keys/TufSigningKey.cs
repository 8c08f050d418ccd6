using System.Security.Cryptography;
using NSec.Cryptography;

namespace TrustServer.Tuf.Keys;

/// <summary>
/// A private key that signs Notary metadata. The server only ever signs with plain (non-x509) keys, ECDSA P-256
/// or Ed25519, as notary-signer does (spec signer.md), so those are the two implementations.
/// </summary>
public abstract class TufSigningKey : IDisposable
{
    /// <summary>The public half as it appears in metadata.</summary>
    public abstract TufPublicKey PublicKey { get; }

    /// <summary>The key's algorithm name as the signer reports it (<c>ecdsa</c> or <c>ed25519</c>).</summary>
    public abstract string Algorithm { get; }

    /// <summary>The signature method to record next to signatures made by this key.</summary>
    public string Method => SignatureMethod.ForKeyType(PublicKey.KeyType);

    /// <summary>Signs the message (canonical JSON bytes) and returns the raw signature.</summary>
    public abstract byte[] Sign(ReadOnlySpan<byte> message);

    /// <summary>Exports the private key as PKCS#8 DER.</summary>
    public abstract byte[] ExportPkcs8();

    /// <summary>Creates a new key of the given algorithm (<c>ecdsa</c> or <c>ed25519</c>).</summary>
    public static TufSigningKey Generate(string algorithm) => algorithm switch
    {
        KeyType.Ecdsa => EcdsaSigningKey.Generate(),
        KeyType.Ed25519 => Ed25519SigningKey.Generate(),
        _ => throw new ArgumentException($"cannot generate keys of type '{algorithm}'", nameof(algorithm)),
    };

    /// <summary>Imports a PKCS#8 private key of the given algorithm.</summary>
    public static TufSigningKey ImportPkcs8(string algorithm, ReadOnlySpan<byte> pkcs8) => algorithm switch
    {
        KeyType.Ecdsa => EcdsaSigningKey.ImportPkcs8(pkcs8),
        KeyType.Ed25519 => Ed25519SigningKey.ImportPkcs8(pkcs8),
        _ => throw new ArgumentException($"cannot import keys of type '{algorithm}'", nameof(algorithm)),
    };

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the key material.</summary>
    protected abstract void Dispose(bool disposing);
}

/// <summary>ECDSA P-256: SHA-256 digest, signature as raw r‖s (64 bytes).</summary>
public sealed class EcdsaSigningKey : TufSigningKey
{
    private readonly ECDsa _key;

    private EcdsaSigningKey(ECDsa key)
    {
        _key = key;
        PublicKey = new TufPublicKey(KeyType.Ecdsa, key.ExportSubjectPublicKeyInfo());
    }

    /// <inheritdoc />
    public override TufPublicKey PublicKey { get; }

    /// <inheritdoc />
    public override string Algorithm => KeyType.Ecdsa;

    /// <summary>Creates a new P-256 key.</summary>
    public static EcdsaSigningKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Imports a PKCS#8 EC private key.</summary>
    public static EcdsaSigningKey ImportPkcs8(ReadOnlySpan<byte> pkcs8)
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        return new EcdsaSigningKey(key);
    }

    /// <inheritdoc />
    public override byte[] Sign(ReadOnlySpan<byte> message) =>
        _key.SignHash(SHA256.HashData(message), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <inheritdoc />
    public override byte[] ExportPkcs8() => _key.ExportPkcs8PrivateKey();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _key.Dispose();
        }
    }
}

/// <summary>Ed25519 through NSec; method <c>eddsa</c>.</summary>
public sealed class Ed25519SigningKey : TufSigningKey
{
    private readonly Key _key;

    private Ed25519SigningKey(Key key)
    {
        _key = key;
        PublicKey = new TufPublicKey(KeyType.Ed25519, key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    /// <inheritdoc />
    public override TufPublicKey PublicKey { get; }

    /// <inheritdoc />
    public override string Algorithm => KeyType.Ed25519;

    /// <summary>Creates a new Ed25519 key.</summary>
    public static Ed25519SigningKey Generate() => new(Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Imports a PKCS#8 Ed25519 private key.</summary>
    public static Ed25519SigningKey ImportPkcs8(ReadOnlySpan<byte> pkcs8) =>
        new(Key.Import(SignatureAlgorithm.Ed25519, pkcs8, KeyBlobFormat.PkixPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Imports a raw 32-byte Ed25519 seed.</summary>
    public static Ed25519SigningKey ImportSeed(ReadOnlySpan<byte> seed) =>
        new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <inheritdoc />
    public override byte[] Sign(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    /// <inheritdoc />
    public override byte[] ExportPkcs8() => _key.Export(KeyBlobFormat.PkixPrivateKey);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _key.Dispose();
        }
    }
}

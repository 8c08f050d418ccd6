using System.Security.Cryptography;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Keys;

/// <summary>
/// The plaintext inside a row's JWE, as notary-signer stores it (spec signer.md §5): <c>ecdsa</c> = DER SEC 1
/// <c>ECPrivateKey</c> (RFC 5915, named curve, with public key); <c>ed25519</c> = 96 bytes public ‖ seed ‖ public
/// (Go's 64-byte private key prefixed with the public key).
/// </summary>
internal static class PrivateKeyCodec
{
    private const int Ed25519KeyLength = 32;

    // RFC 8410 PKCS#8 for Ed25519 (what NSec exports): SEQ { INT 0, SEQ { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }.
    private static readonly byte[] Ed25519Pkcs8Prefix = Convert.FromHexString("302e020100300506032b657004220420");

    /// <summary>Encodes a key as notary-signer's plaintext. The caller zeroes the result.</summary>
    public static byte[] Encode(TufSigningKey key)
    {
        var pkcs8 = key.ExportPkcs8();
        try
        {
            switch (key.Algorithm)
            {
                case KeyType.Ecdsa:
                    using (var ecdsa = ECDsa.Create())
                    {
                        ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
                        return ecdsa.ExportECPrivateKey();
                    }

                case KeyType.Ed25519:
                    if (pkcs8.Length != Ed25519Pkcs8Prefix.Length + Ed25519KeyLength || !pkcs8.AsSpan().StartsWith(Ed25519Pkcs8Prefix))
                    {
                        throw new InvalidOperationException("unexpected Ed25519 PKCS#8 encoding");
                    }

                    var publicKey = key.PublicKey.Public;
                    return [.. publicKey, .. pkcs8.AsSpan(Ed25519Pkcs8Prefix.Length), .. publicKey];
                default:
                    throw new ArgumentException($"unsupported key algorithm '{key.Algorithm}'", nameof(key));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>
    /// Decodes notary-signer's plaintext for <paramref name="algorithm"/>. Throws <see cref="KeyDecryptionException"/>
    /// (without key material in the message) when it is not a valid key of that algorithm.
    /// </summary>
    public static TufSigningKey Decode(string algorithm, ReadOnlySpan<byte> plaintext)
    {
        switch (algorithm)
        {
            case KeyType.Ecdsa:
                {
                    byte[]? pkcs8 = null;
                    try
                    {
                        using var ecdsa = ECDsa.Create();
                        ecdsa.ImportECPrivateKey(plaintext, out var read);
                        if (read != plaintext.Length)
                        {
                            throw new KeyDecryptionException("decrypted ecdsa key has trailing data");
                        }

                        if (ecdsa.KeySize != 256 || ecdsa.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
                        {
                            throw new KeyDecryptionException("decrypted ecdsa key is not on P-256");
                        }

                        pkcs8 = ecdsa.ExportPkcs8PrivateKey();
                        return EcdsaSigningKey.ImportPkcs8(pkcs8);
                    }
                    catch (CryptographicException ex)
                    {
                        throw new KeyDecryptionException("decrypted ecdsa key is not a valid SEC 1 ECPrivateKey", ex);
                    }
                    finally
                    {
                        if (pkcs8 is not null)
                        {
                            CryptographicOperations.ZeroMemory(pkcs8);
                        }
                    }
                }

            case KeyType.Ed25519:
                {
                    if (plaintext.Length != 3 * Ed25519KeyLength)
                    {
                        throw new KeyDecryptionException("decrypted ed25519 key is not 96 bytes");
                    }

                    var key = Ed25519SigningKey.ImportSeed(plaintext.Slice(Ed25519KeyLength, Ed25519KeyLength));
                    var derived = key.PublicKey.Public;
                    if (!derived.AsSpan().SequenceEqual(plaintext[..Ed25519KeyLength])
                        || !derived.AsSpan().SequenceEqual(plaintext[(2 * Ed25519KeyLength)..]))
                    {
                        key.Dispose();
                        throw new KeyDecryptionException("decrypted ed25519 key does not match its public key");
                    }

                    return key;
                }

            default:
                throw new KeyDecryptionException($"unsupported key algorithm '{algorithm}'");
        }
    }
}

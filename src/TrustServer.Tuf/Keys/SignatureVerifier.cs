using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NSec.Cryptography;

namespace TrustServer.Tuf.Keys;

/// <summary>
/// Verifies one signature with one key (spec tuf-metadata.md §11). The method decides the algorithm and each
/// method accepts only its own key types, so a signature can never be checked with an algorithm that does not
/// fit the key (NCC 2015 finding 1). Any failure, including unparsable keys, is simply "not valid".
/// </summary>
public static class SignatureVerifier
{
    private const int MinRsaSignatureBytes = CertificateRules.MinRsaBits / 8;

    /// <summary>True when <paramref name="signature"/> is a valid <paramref name="method"/> signature of
    /// <paramref name="message"/> by <paramref name="key"/>.</summary>
    public static bool Verify(TufPublicKey key, string method, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        try
        {
            return method switch
            {
                SignatureMethod.Ecdsa => VerifyEcdsa(key, message, signature),
                SignatureMethod.EdDsa => VerifyEd25519(key, message, signature),
                SignatureMethod.RsaPss => VerifyRsa(RsaKey(key), message, signature, RSASignaturePadding.Pss),
                SignatureMethod.RsaPkcs1v15 => VerifyRsa(RsaKey(key), message, signature, RSASignaturePadding.Pkcs1),
                SignatureMethod.PyCryptoPss => VerifyRsa(PemRsaKey(key), message, signature, RSASignaturePadding.Pss),
                _ => false,
            };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    // Imported ECDSA keys by key ID: on OpenSSL 3, parsing the certificate or SubjectPublicKeyInfo costs more than the
    // verification itself, and the same few keys sign every update of a repository.
    private static readonly ImportedKeyPool<ECDsa> EcdsaKeys = new();

    private static bool VerifyEcdsa(TufPublicKey key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (key.KeyType is not (KeyType.Ecdsa or KeyType.EcdsaX509))
        {
            return false;
        }

        var ecdsa = EcdsaKeys.Rent(key.Id) ?? (key.KeyType == KeyType.Ecdsa
            ? ImportSpki(key.Public, static () => ECDsa.Create())
            : CertificateKey(key, static c => c.GetECDsaPublicKey()));
        if (ecdsa is null)
        {
            return false;
        }

        try
        {
            // Raw r‖s, each padded to the curve size; DER signatures have another length and fail here.
            var fieldBytes = (ecdsa.KeySize + 7) / 8;
            return signature.Length == 2 * fieldBytes
                && ecdsa.VerifyHash(SHA256.HashData(message), signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            EcdsaKeys.Return(key.Id, ecdsa);
        }
    }

    private static bool VerifyEd25519(TufPublicKey key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (key.KeyType != KeyType.Ed25519 || key.Public.Length != 32 || signature.Length != 64)
        {
            return false;
        }

        var algorithm = SignatureAlgorithm.Ed25519;
        return NSec.Cryptography.PublicKey.TryImport(algorithm, key.Public, KeyBlobFormat.RawPublicKey, out var publicKey)
            && algorithm.Verify(publicKey!, message, signature);
    }

    private static bool VerifyRsa(RSA? rsa, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature, RSASignaturePadding padding)
    {
        using (rsa)
        {
            if (rsa is null || rsa.KeySize < CertificateRules.MinRsaBits || signature.Length < MinRsaSignatureBytes)
            {
                return false;
            }

            // .NET's PSS uses a salt as long as the hash: 32 bytes for SHA-256, as Notary requires.
            return rsa.VerifyHash(SHA256.HashData(message), signature, HashAlgorithmName.SHA256, padding);
        }
    }

    private static RSA? RsaKey(TufPublicKey key) => key.KeyType switch
    {
        KeyType.Rsa => ImportSpki(key.Public, static () => RSA.Create()),
        KeyType.RsaX509 => CertificateKey(key, static c => c.GetRSAPublicKey()),
        _ => null,
    };

    // The legacy PyCrypto method expects the SPKI as PEM text inside keyval.public of an "rsa" key.
    private static RSA? PemRsaKey(TufPublicKey key)
    {
        if (key.KeyType != KeyType.Rsa)
        {
            return null;
        }

        var block = Pem.Blocks(key.Public).FirstOrDefault();
        return block.Data is null ? null : ImportSpki(block.Data, static () => RSA.Create());
    }

    private static T? ImportSpki<T>(byte[] spki, Func<T> create)
        where T : AsymmetricAlgorithm
    {
        var algorithm = create();
        try
        {
            algorithm.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read == spki.Length)
            {
                return algorithm;
            }
        }
        catch (CryptographicException)
        {
        }

        algorithm.Dispose();
        return null;
    }

    private static T? CertificateKey<T>(TufPublicKey key, Func<X509Certificate2, T?> extract)
        where T : class
    {
        using var certificate = Pem.FirstCertificate(key.Public);
        return certificate is null ? null : extract(certificate);
    }
}

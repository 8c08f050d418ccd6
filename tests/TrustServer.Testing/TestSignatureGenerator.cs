using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustServer.Testing;

/// <summary>
/// Signs certificates with ECDSA or RSA (PKCS#1 v1.5) and, unlike the built-in generators, also with SHA-1:
/// .NET refuses SHA-1 for certificate signatures ("'SHA1' is not a known hash algorithm"), but tests need
/// SHA-1 certificates to check that they are rejected (spec/validation.md §3: no SHA-1 root certificates).
/// </summary>
internal sealed class TestSignatureGenerator : X509SignatureGenerator
{
    // DER AlgorithmIdentifier SEQUENCE { OID ecdsa-with-SHA1 (1.2.840.10045.4.1) } — no parameters (RFC 5758 §3.2).
    private static readonly byte[] EcdsaWithSha1 = [0x30, 0x09, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];

    // DER AlgorithmIdentifier SEQUENCE { OID sha1WithRSAEncryption (1.2.840.113549.1.1.5), NULL } (RFC 3279 §2.2.1).
    private static readonly byte[] Sha1WithRsa = [0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05, 0x05, 0x00];

    private readonly AsymmetricAlgorithm _key;
    private readonly X509SignatureGenerator _inner;

    public TestSignatureGenerator(AsymmetricAlgorithm key)
    {
        _key = key;
        _inner = key switch
        {
            ECDsa ecdsa => CreateForECDsa(ecdsa),
            RSA rsa => CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
            _ => throw new NotSupportedException($"Unsupported key type {key.GetType().Name}."),
        };
    }

    public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm)
    {
        if (hashAlgorithm != HashAlgorithmName.SHA1)
        {
            return _inner.GetSignatureAlgorithmIdentifier(hashAlgorithm);
        }

        return _key is ECDsa ? [.. EcdsaWithSha1] : [.. Sha1WithRsa];
    }

    public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm)
    {
        if (hashAlgorithm != HashAlgorithmName.SHA1)
        {
            return _inner.SignData(data, hashAlgorithm);
        }

        return _key switch
        {
            // X.509 carries ECDSA signatures as DER SEQUENCE { r, s } (RFC 3279 §2.2.3).
            ECDsa ecdsa => ecdsa.SignData(data, HashAlgorithmName.SHA1, DSASignatureFormat.Rfc3279DerSequence),
            RSA rsa => rsa.SignData(data, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1),
            _ => throw new NotSupportedException(),
        };
    }

    protected override PublicKey BuildPublicKey() => _inner.PublicKey;
}

using System.Security.Cryptography;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Support;

/// <summary>Something that signs metadata as a client would: a key ID, a method and the private operation.</summary>
internal interface IMetadataSigner
{
    TufPublicKey PublicKey { get; }

    TufSignature Sign(byte[] canonical);
}

/// <summary>A plain ecdsa/ed25519 key.</summary>
internal sealed class KeySigner(TufSigningKey key) : IMetadataSigner, IDisposable
{
    public static KeySigner Ecdsa() => new(TufSigningKey.Generate(KeyType.Ecdsa));

    public static KeySigner Ed25519() => new(TufSigningKey.Generate(KeyType.Ed25519));

    public TufSigningKey Key => key;

    public TufPublicKey PublicKey => key.PublicKey;

    public TufSignature Sign(byte[] canonical) => new(PublicKey.Id, key.Method, key.Sign(canonical));

    public void Dispose() => key.Dispose();
}

/// <summary>A certificate-wrapped key (ecdsa-x509 / rsa-x509), like Notary root and delegation keys.</summary>
internal sealed class CertificateSigner : IMetadataSigner, IDisposable
{
    public CertificateSigner(TestCertificate certificate, params TestCertificate[] intermediates)
    {
        Certificate = certificate;
        var pem = string.Concat(new[] { certificate }.Concat(intermediates).Select(c => c.CertificatePem));
        var keyType = certificate.PrivateKey is RSA ? KeyType.RsaX509 : KeyType.EcdsaX509;
        PublicKey = new TufPublicKey(keyType, System.Text.Encoding.ASCII.GetBytes(pem));
    }

    public TestCertificate Certificate { get; }

    public TufPublicKey PublicKey { get; }

    /// <summary>A leaf with CN = <paramref name="commonName"/>, self-signed unless an issuer is given.</summary>
    public static CertificateSigner Create(string commonName, TestCertificateOptions? options = null, TestCertificate? issuer = null)
    {
        var effective = options ?? new TestCertificateOptions();
        var certificate = TestCertificates.Create(
            new TestCertificateOptions
            {
                CommonName = commonName,
                KeyAlgorithm = effective.KeyAlgorithm,
                RsaKeySize = effective.RsaKeySize,
                NotBefore = effective.NotBefore ?? DateTimeOffset.UtcNow.AddDays(-1),
                NotAfter = effective.NotAfter ?? DateTimeOffset.UtcNow.AddYears(10),
                SignatureHash = effective.SignatureHash,
                IsCertificateAuthority = effective.IsCertificateAuthority,
                ExtendedKeyUsages = [ExtendedKeyUsageOids.CodeSigning],
            },
            issuer);
        return new CertificateSigner(certificate);
    }

    public TufSignature Sign(byte[] canonical) => Certificate.PrivateKey switch
    {
        ECDsa ecdsa => new(PublicKey.Id, SignatureMethod.Ecdsa, ecdsa.SignHash(SHA256.HashData(canonical), DSASignatureFormat.IeeeP1363FixedFieldConcatenation)),
        RSA rsa => new(PublicKey.Id, SignatureMethod.RsaPss, rsa.SignData(canonical, HashAlgorithmName.SHA256, RSASignaturePadding.Pss)),
        _ => throw new NotSupportedException(),
    };

    public void Dispose() => Certificate.Dispose();
}

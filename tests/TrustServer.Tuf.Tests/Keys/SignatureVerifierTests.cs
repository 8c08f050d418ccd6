using System.Security.Cryptography;
using System.Text;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Tuf.Tests.Keys;

/// <summary>Signature methods and the key types each accepts (spec tuf-metadata.md §11; NCC 2015 finding 1).</summary>
public sealed class SignatureVerifierTests
{
    private static readonly byte[] Message = Encoding.UTF8.GetBytes("{\"_type\":\"Targets\",\"version\":1}");

    [Fact]
    public void Ecdsa_RawSignature_Verifies_DerDoesNot()
    {
        using var key = EcdsaSigningKey.Generate();
        var raw = key.Sign(Message);
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(key.ExportPkcs8(), out _);
        var der = ecdsa.SignHash(SHA256.HashData(Message), DSASignatureFormat.Rfc3279DerSequence);

        Assert.Equal(64, raw.Length);
        Assert.Equal("ecdsa", key.Method);
        Assert.True(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.Ecdsa, Message, raw));
        Assert.False(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.Ecdsa, Message, der));
        Assert.False(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.Ecdsa, "other"u8, raw));
    }

    [Fact]
    public void Ecdsa_P384Key_UsesSha256AndLongerSignature()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var key = new TufPublicKey(KeyType.Ecdsa, ecdsa.ExportSubjectPublicKeyInfo());
        var signature = ecdsa.SignHash(SHA256.HashData(Message), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

        Assert.Equal(96, signature.Length);
        Assert.True(SignatureVerifier.Verify(key, SignatureMethod.Ecdsa, Message, signature));
    }

    [Fact]
    public void Ed25519_Verifies_WithEddsaMethodOnly()
    {
        using var key = Ed25519SigningKey.Generate();
        var signature = key.Sign(Message);

        Assert.Equal("eddsa", key.Method);
        Assert.Equal(32, key.PublicKey.Public.Length);
        Assert.True(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.EdDsa, Message, signature));
        Assert.False(SignatureVerifier.Verify(key.PublicKey, "ed25519", Message, signature));
        Assert.False(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.Ecdsa, Message, signature));
        Assert.False(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.EdDsa, Message, signature[..63]));
    }

    [Fact]
    public void Ed25519_ImportedKeys_RoundTrip()
    {
        using var key = Ed25519SigningKey.Generate();
        using var copy = Ed25519SigningKey.ImportPkcs8(key.ExportPkcs8());

        Assert.Equal(key.PublicKey.Id, copy.PublicKey.Id);
        Assert.True(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.EdDsa, Message, copy.Sign(Message)));
    }

    [Fact]
    public void Rsa_PssAndPkcs1_VerifyWithSha256AndSalt32()
    {
        using var rsa = RSA.Create(2048);
        var key = new TufPublicKey(KeyType.Rsa, rsa.ExportSubjectPublicKeyInfo());
        var pss = rsa.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        var pkcs1 = rsa.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

        Assert.True(SignatureVerifier.Verify(key, SignatureMethod.RsaPss, Message, pss));
        Assert.True(SignatureVerifier.Verify(key, SignatureMethod.RsaPkcs1v15, Message, pkcs1));
        Assert.False(SignatureVerifier.Verify(key, SignatureMethod.RsaPss, Message, pkcs1));
        Assert.False(SignatureVerifier.Verify(key, SignatureMethod.RsaPkcs1v15, Message, pss));
        Assert.False(SignatureVerifier.Verify(key, SignatureMethod.Ecdsa, Message, pss));
        Assert.False(SignatureVerifier.Verify(key, SignatureMethod.EdDsa, Message, pss));
    }

    [Fact]
    public void Rsa_KeysBelow2048Bits_AreRefused()
    {
        using var rsa = RSA.Create(1024);
        var key = new TufPublicKey(KeyType.Rsa, rsa.ExportSubjectPublicKeyInfo());

        Assert.False(SignatureVerifier.Verify(key, SignatureMethod.RsaPss, Message, rsa.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pss)));
    }

    [Fact]
    public void PyCryptoPss_ExpectsPemEncodedRsaKey()
    {
        using var rsa = RSA.Create(2048);
        var pemKey = new TufPublicKey(KeyType.Rsa, Encoding.ASCII.GetBytes(rsa.ExportSubjectPublicKeyInfoPem()));
        var derKey = new TufPublicKey(KeyType.Rsa, rsa.ExportSubjectPublicKeyInfo());
        var signature = rsa.SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);

        Assert.True(SignatureVerifier.Verify(pemKey, SignatureMethod.PyCryptoPss, Message, signature));
        Assert.False(SignatureVerifier.Verify(derKey, SignatureMethod.PyCryptoPss, Message, signature));
    }

    [Fact]
    public void X509Keys_VerifyWithTheCertificateKey()
    {
        using var ecCert = TestCertificates.Create(new TestCertificateOptions { CommonName = "gun" });
        using var rsaCert = TestCertificates.Create(new TestCertificateOptions { CommonName = "gun", KeyAlgorithm = TestKeyAlgorithm.Rsa });
        var ecKey = new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(ecCert.CertificatePem));
        var rsaKey = new TufPublicKey(KeyType.RsaX509, Encoding.ASCII.GetBytes(rsaCert.CertificatePem));
        var ecSignature = ((ECDsa)ecCert.PrivateKey).SignHash(SHA256.HashData(Message), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var rsaSignature = ((RSA)rsaCert.PrivateKey).SignData(Message, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);

        Assert.True(SignatureVerifier.Verify(ecKey, SignatureMethod.Ecdsa, Message, ecSignature));
        Assert.True(SignatureVerifier.Verify(rsaKey, SignatureMethod.RsaPss, Message, rsaSignature));

        // Method/key confusion: an RSA certificate with the ecdsa method, an EC certificate with rsapss.
        Assert.False(SignatureVerifier.Verify(rsaKey, SignatureMethod.Ecdsa, Message, rsaSignature));
        Assert.False(SignatureVerifier.Verify(ecKey, SignatureMethod.RsaPss, Message, ecSignature));

        // Key type that lies about its content: an EC certificate labelled rsa-x509.
        Assert.False(SignatureVerifier.Verify(new TufPublicKey(KeyType.RsaX509, ecKey.Public), SignatureMethod.Ecdsa, Message, ecSignature));
    }

    [Fact]
    public void KeyTypeConfusion_EcdsaSpkiLabelledEd25519OrRsa_NeverVerifies()
    {
        using var key = EcdsaSigningKey.Generate();
        var signature = key.Sign(Message);

        Assert.False(SignatureVerifier.Verify(new TufPublicKey(KeyType.Ed25519, key.PublicKey.Public), SignatureMethod.Ecdsa, Message, signature));
        Assert.False(SignatureVerifier.Verify(new TufPublicKey(KeyType.Rsa, key.PublicKey.Public), SignatureMethod.Ecdsa, Message, signature));
        Assert.False(SignatureVerifier.Verify(new TufPublicKey(KeyType.Ecdsa, [.. key.PublicKey.Public, 0]), SignatureMethod.Ecdsa, Message, signature));
        Assert.False(SignatureVerifier.Verify(new TufPublicKey(KeyType.Ecdsa, []), SignatureMethod.Ecdsa, Message, signature));
    }

    [Fact]
    public void UnknownMethod_NeverVerifies()
    {
        using var key = EcdsaSigningKey.Generate();

        Assert.False(SignatureVerifier.Verify(key.PublicKey, "ecdsa-sha512", Message, key.Sign(Message)));
    }

    [Fact]
    public void SigningKeys_ExportAndImportPkcs8()
    {
        using var key = TufSigningKey.Generate(KeyType.Ecdsa);
        using var copy = TufSigningKey.ImportPkcs8(KeyType.Ecdsa, key.ExportPkcs8());

        Assert.Equal(key.PublicKey.Id, copy.PublicKey.Id);
        Assert.Equal("ecdsa", copy.Algorithm);
        Assert.Throws<ArgumentException>(() => TufSigningKey.Generate("rsa"));
    }
}

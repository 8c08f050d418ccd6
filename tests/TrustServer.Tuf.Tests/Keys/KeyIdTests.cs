using System.Text;
using TrustServer.Testing;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;

namespace TrustServer.Tuf.Tests.Keys;

/// <summary>Key IDs and canonical key IDs (spec tuf-metadata.md §10, vectors from spec README).</summary>
public sealed class KeyIdTests
{
    private const string FixtureEcdsaPublic =
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENgK7kx/HdvmLUG4733JIJd0Bv6FML8SVEmgGynvhl64nCVmWzTLdziS1bMUgb6hlSkqTYtvyOCC5YMY+GrAH+Q==";

    // The ecdsa-x509 root key 354e20…2866 of notary's fixtures/compatibility/notary0.3 root.json (a public certificate).
    private const string FixtureRootCertificatePublic =
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJlVENDQVIrZ0F3SUJBZ0lRRmdpeGZJdWs1ZCtLM2R5cElhU0RMREFLQmdncWhrak9QUVFEQWpBak1TRXcKSHdZRFZRUURFeGhrYjJOclpYSXVZMjl0TDI1dmRHRnllVEF1TXk5MGMzUXdIaGNOTVRZd056STNNakkxTmpNeQpXaGNOTWpZd056STFNakkxTmpNeVdqQWpNU0V3SHdZRFZRUURFeGhrYjJOclpYSXVZMjl0TDI1dmRHRnllVEF1Ck15OTBjM1F3V1RBVEJnY3Foa2pPUFFJQkJnZ3Foa2pPUFFNQkJ3TkNBQVNpajBzYUF1SnZoRVpVSFFTVzJjc3EKR1B6VldyVVAxUCtDRTZZNnVKaWZidmk3YldseEc2KzMvYTVsd2oxa2RGRWtPU1pUd0NST1lqbjA3QlRHVnoxZQpvelV3TXpBT0JnTlZIUThCQWY4RUJBTUNCYUF3RXdZRFZSMGxCQXd3Q2dZSUt3WUJCUVVIQXdNd0RBWURWUjBUCkFRSC9CQUl3QURBS0JnZ3Foa2pPUFFRREFnTklBREJGQWlBVWljS05LTFhVQ1pVbnVKUGtHRS9ITkM2Q0JuOEsKK2cvQlFhbDhDbE02bHdJaEFMWFEwVzdqQ21Gc2ViN09jREZLbTAzb1Jka0J6elVpbSsvQlVwWnNYa1d3Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";

    [Fact]
    public void Id_SpecVector_Matches()
    {
        var key = new TufPublicKey(KeyType.Ecdsa, Convert.FromBase64String(FixtureEcdsaPublic));

        Assert.Equal("041b64dab281324ef2b62fd2d04f4758269e120ff063b7bc78709272821a0a02", key.Id);
        Assert.Equal(key.Id, key.CanonicalId);
    }

    [Fact]
    public void Id_HashesExactlyTheSpecBytes()
    {
        var key = new TufPublicKey(KeyType.Ecdsa, Convert.FromBase64String(FixtureEcdsaPublic));

        Assert.Equal(
            "{\"keytype\":\"ecdsa\",\"keyval\":{\"private\":null,\"public\":\"" + FixtureEcdsaPublic + "\"}}",
            Encoding.UTF8.GetString(CanonicalJson.Encode(key.ToJson())));
    }

    [Fact]
    public void CanonicalId_X509RootKeyVector_Matches()
    {
        var key = new TufPublicKey(KeyType.EcdsaX509, Convert.FromBase64String(FixtureRootCertificatePublic));

        Assert.Equal("354e203ba09dbe17807b6a9d191bff887167c06d121e738d849446a9c76c2866", key.Id);
        Assert.Equal("f4eaf871a74aa3b3a0ff95cef2455a1e4d461639f5625418e76756fc5c948690", key.CanonicalId);
    }

    [Fact]
    public void CanonicalId_SameKeyInTwoCertificates_IsTheSameWhileIdsDiffer()
    {
        using var first = TestCertificates.Create(new TestCertificateOptions { CommonName = "example.com/a" });
        using var ecdsa = (System.Security.Cryptography.ECDsa)first.PrivateKey;
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=example.com/b", ecdsa, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var second = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var keyA = new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(first.CertificatePem));
        var keyB = new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(second.ExportCertificatePem() + "\n"));

        Assert.NotEqual(keyA.Id, keyB.Id);
        Assert.Equal(keyA.CanonicalId, keyB.CanonicalId);
        Assert.Equal(new TufPublicKey(KeyType.Ecdsa, ecdsa.ExportSubjectPublicKeyInfo()).Id, keyA.CanonicalId);
    }

    [Fact]
    public void CanonicalId_RsaCertificate_UsesPlainRsaKey()
    {
        using var certificate = TestCertificates.Create(new TestCertificateOptions { CommonName = "gun", KeyAlgorithm = TestKeyAlgorithm.Rsa });
        var key = new TufPublicKey(KeyType.RsaX509, Encoding.ASCII.GetBytes(certificate.CertificatePem));

        Assert.Equal(new TufPublicKey(KeyType.Rsa, certificate.Certificate.PublicKey.ExportSubjectPublicKeyInfo()).Id, key.CanonicalId);
    }

    [Fact]
    public void CanonicalId_X509KeyWithoutCertificate_ThrowsTypedError()
    {
        var key = new TufPublicKey(KeyType.EcdsaX509, "not a pem"u8.ToArray());

        Assert.Throws<TufFormatException>(() => key.CanonicalId);
    }

    [Fact]
    public void FromJson_UnknownKeyType_ParsesButNeverVerifies()
    {
        var json = JsonParser.Parse("{\"keytype\":\"dsa\",\"keyval\":{\"private\":\"ignored\",\"public\":\"AAEC\"}}"u8);

        var key = TufPublicKey.FromJson(json, "key");

        Assert.Equal("dsa", key.KeyType);
        Assert.Equal(new byte[] { 0, 1, 2 }, key.Public);
        foreach (var method in new[] { "ecdsa", "eddsa", "rsapss", "rsapkcs1v15", "pycrypto-pkcs#1 pss", "dsa" })
        {
            Assert.False(SignatureVerifier.Verify(key, method, "m"u8, new byte[64]));
        }
    }

    [Theory]
    [InlineData("{\"keytype\":1,\"keyval\":{}}")]
    [InlineData("{\"keytype\":\"ecdsa\",\"keyval\":{\"public\":\"not base64!\"}}")]
    [InlineData("{\"keytype\":\"ecdsa\",\"keyval\":{\"public\":\"AAE\"}}")]
    [InlineData("{\"keytype\":\"ecdsa\",\"keyval\":[]}")]
    [InlineData("[]")]
    public void FromJson_BadKeyObject_ThrowsTypedError(string json)
    {
        Assert.Throws<TufFormatException>(() => TufPublicKey.FromJson(JsonParser.Parse(Encoding.UTF8.GetBytes(json)), "key"));
    }
}

using System.Security.Cryptography;
using TrustServer.Signing.Keys;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Tests.Keys;

public sealed class PrivateKeyCodecTests
{
    [Fact]
    public void Encode_Ecdsa_IsSec1EcPrivateKeyWithNamedCurveAndPublicKey()
    {
        using var key = EcdsaSigningKey.Generate();

        var plaintext = PrivateKeyCodec.Encode(key);

        Assert.Equal(121, plaintext.Length);
        Assert.Equal(Convert.FromHexString("30770201010420"), plaintext[..7]);
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportECPrivateKey(plaintext, out var read);
        Assert.Equal(121, read);
        Assert.Equal(key.PublicKey.Public, ecdsa.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Encode_Ed25519_IsPublicSeedPublic()
    {
        using var key = Ed25519SigningKey.Generate();

        var plaintext = PrivateKeyCodec.Encode(key);

        Assert.Equal(96, plaintext.Length);
        Assert.Equal(key.PublicKey.Public, plaintext[..32]);
        Assert.Equal(key.PublicKey.Public, plaintext[64..]);
        using var fromSeed = Ed25519SigningKey.ImportSeed(plaintext.AsSpan(32, 32));
        Assert.Equal(key.PublicKey.Public, fromSeed.PublicKey.Public);
    }

    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public void Decode_OfEncode_SignsVerifiably(string algorithm)
    {
        using var key = TufSigningKey.Generate(algorithm);
        using var decoded = PrivateKeyCodec.Decode(algorithm, PrivateKeyCodec.Encode(key));
        var message = "{\"signed\":true}"u8.ToArray();

        Assert.Equal(key.PublicKey.Id, decoded.PublicKey.Id);
        Assert.True(SignatureVerifier.Verify(key.PublicKey, decoded.Method, message, decoded.Sign(message)));
    }

    [Fact]
    public void Decode_Garbage_ThrowsKeyDecryptionException()
    {
        Assert.Throws<KeyDecryptionException>(() => PrivateKeyCodec.Decode(KeyType.Ecdsa, new byte[121]));
        Assert.Throws<KeyDecryptionException>(() => PrivateKeyCodec.Decode(KeyType.Ed25519, new byte[64]));
        Assert.Throws<KeyDecryptionException>(() => PrivateKeyCodec.Decode(KeyType.Ed25519, new byte[96]));
        Assert.Throws<KeyDecryptionException>(() => PrivateKeyCodec.Decode(KeyType.Rsa, new byte[96]));
    }

    [Fact]
    public void Decode_EcdsaOnAnotherCurve_ThrowsKeyDecryptionException()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<KeyDecryptionException>(() => PrivateKeyCodec.Decode(KeyType.Ecdsa, p384.ExportECPrivateKey()));
    }
}

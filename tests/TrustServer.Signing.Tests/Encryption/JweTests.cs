using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustServer.Signing.Encryption;
using TrustServer.Signing.Keys;

namespace TrustServer.Signing.Tests.Encryption;

public sealed class JweTests
{
    private const string Passphrase = "correct horse battery staple";

    [Fact]
    public void Encrypt_ThenDecrypt_RoundTrips()
    {
        var plaintext = RandomNumberGenerator.GetBytes(121);

        var compact = Jwe.Encrypt(plaintext, Passphrase);

        Assert.Equal(plaintext, Jwe.Decrypt(compact, Passphrase));
    }

    [Fact]
    public void Encrypt_Header_IsExactlyNotarySignersSortedHeader()
    {
        var compact = Jwe.Encrypt([1, 2, 3], Passphrase);
        var parts = compact.Split('.');
        var header = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[0]));

        Assert.Equal(5, parts.Length);
        Assert.Matches("^\\{\"alg\":\"PBES2-HS256\\+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"[A-Za-z0-9_-]{16}\"\\}$", header);
        using var document = JsonDocument.Parse(header);
        Assert.Equal(12, Base64Url.DecodeFromChars(document.RootElement.GetProperty("p2s").GetString()).Length);
        Assert.Equal(40, Base64Url.DecodeFromChars(parts[1]).Length);
        Assert.Equal(12, Base64Url.DecodeFromChars(parts[2]).Length);
        Assert.Equal(3, Base64Url.DecodeFromChars(parts[3]).Length);
        Assert.Equal(16, Base64Url.DecodeFromChars(parts[4]).Length);
    }

    [Fact]
    public void Encrypt_Twice_UsesFreshSaltIvAndKey()
    {
        var first = Jwe.Encrypt([1, 2, 3], Passphrase).Split('.');
        var second = Jwe.Encrypt([1, 2, 3], Passphrase).Split('.');

        Assert.NotEqual(first[0], second[0]);
        Assert.NotEqual(first[1], second[1]);
        Assert.NotEqual(first[2], second[2]);
    }

    [Fact]
    public void Decrypt_TakesIterationsFromHeader()
    {
        var compact = Jwe.Encrypt([9, 8, 7], Passphrase, iterations: 1000);

        Assert.Contains("\"p2c\":1000", Encoding.UTF8.GetString(Base64Url.DecodeFromChars(compact.Split('.')[0])), StringComparison.Ordinal);
        Assert.Equal([9, 8, 7], Jwe.Decrypt(compact, Passphrase));
    }

    [Fact]
    public void Decrypt_WrongPassphrase_ThrowsKeyDecryptionException()
    {
        var compact = Jwe.Encrypt([1, 2, 3], Passphrase);

        var error = Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(compact, "not the passphrase"));
        Assert.Contains("wrong passphrase", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)] // header
    [InlineData(1)] // encrypted key
    [InlineData(2)] // iv
    [InlineData(3)] // ciphertext
    [InlineData(4)] // tag
    public void Decrypt_FlippedByteInAnyPart_ThrowsKeyDecryptionException(int part)
    {
        var parts = Jwe.Encrypt(RandomNumberGenerator.GetBytes(96), Passphrase).Split('.');
        var bytes = Base64Url.DecodeFromChars(parts[part]);

        // In the header, flip a bit inside the p2s value so that the JSON stays valid and the change reaches the crypto.
        var index = part == 0 ? Encoding.UTF8.GetString(bytes).IndexOf("\"p2s\":\"", StringComparison.Ordinal) + 8 : bytes.Length / 2;
        bytes[index] ^= part == 0 ? (byte)0x01 : (byte)0x80;
        parts[part] = Base64Url.EncodeToString(bytes);

        Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(string.Join('.', parts), Passphrase));
    }

    [Theory]
    [InlineData("a.b.c.d")]
    [InlineData("a.b.c.d.e.f")]
    [InlineData("")]
    [InlineData("!!!!.b.c.d.e")]
    public void Decrypt_MalformedCompact_ThrowsKeyDecryptionException(string compact) =>
        Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(compact, Passphrase));

    [Theory]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":1000001,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":0,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":\"8192\",\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192}")]
    [InlineData("{\"alg\":\"PBES2-HS512+A256KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A128GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\",\"zip\":\"DEF\"}")]
    [InlineData("[1,2]")]
    [InlineData("{not json")]
    public void Decrypt_BadHeader_ThrowsKeyDecryptionException(string header)
    {
        var parts = Jwe.Encrypt([1, 2, 3], Passphrase).Split('.');
        parts[0] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header));

        Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(string.Join('.', parts), Passphrase));
    }

    // RFC 7518 §4.8.1.1 as used in RFC 7517 Appendix C: PBKDF2-SHA256 over UTF8(alg) || 0x00 || p2s, then the
    // resulting KEK unwraps the appendix's encrypted key to its CEK (the key wrap integrity check proves both steps).
    [Fact]
    public void DeriveKek_Rfc7517AppendixC_UnwrapsTheExampleCek()
    {
        var kek = Jwe.DeriveKek("Thus from my lips, by yours, my sin is purged.", Base64Url.DecodeFromChars("2WCTcJZ1Rvd_CJuJripQ1w"), 4096);
        byte[] encryptedKey =
        [
            78, 186, 151, 59, 11, 141, 81, 240, 213, 245, 83, 211, 53, 188, 134, 188, 66, 125, 36, 200, 222, 124, 5, 103,
            249, 52, 117, 184, 140, 81, 246, 158, 161, 177, 20, 33, 245, 57, 59, 4,
        ];
        byte[] cek =
        [
            111, 27, 25, 52, 66, 29, 20, 78, 92, 176, 56, 240, 65, 208, 82, 112, 161, 131, 36, 55, 202, 236, 185, 172,
            129, 23, 153, 194, 195, 48, 253, 182,
        ];

        Assert.Equal([110, 171, 169, 92, 129, 92, 109, 117, 233, 242, 116, 233, 170, 14, 24, 75], kek);
        Assert.Equal(cek, AesKeyWrap.Unwrap(kek, encryptedKey));
    }

    // jose-jwt is an independent RFC 7516/7518 implementation: what it writes we read, and the other way round.
    [Fact]
    public void Decrypt_TokenFromJoseJwt_RoundTrips()
    {
        var plaintext = RandomNumberGenerator.GetBytes(96);
        var token = Jose.JWT.EncodeBytes(
            plaintext,
            Passphrase,
            Jose.JweAlgorithm.PBES2_HS256_A128KW,
            Jose.JweEncryption.A256GCM,
            extraHeaders: new Dictionary<string, object> { ["p2c"] = 8192 });

        Assert.Equal(plaintext, Jwe.Decrypt(token, Passphrase));
    }

    [Fact]
    public void Encrypt_TokenDecryptsWithJoseJwt()
    {
        var plaintext = RandomNumberGenerator.GetBytes(121);

        var decrypted = Jose.JWT.DecodeBytes(Jwe.Encrypt(plaintext, Passphrase), Passphrase);

        Assert.Equal(plaintext, decrypted);
    }
}

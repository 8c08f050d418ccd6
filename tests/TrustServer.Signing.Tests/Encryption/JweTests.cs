using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using TrustServer.Signing.Encryption;
using TrustServer.Signing.Keys;

namespace TrustServer.Signing.Tests.Encryption;

public sealed class JweTests
{
    private const string Passphrase = "correct horse battery staple";

    // Fixed vectors: timestamp-key rows written by the real notary-signer 0.7.0 (jose2go) under passphrase
    // "testpassword", captured from the Interop tests' database. The live round trips both ways are in
    // Interop/NotarySignerInteropTests; these pin the format without the binary.
    private const string NotarySignerPassphrase = "testpassword";
    private const string NotarySignerEcdsaPublic = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEggkHueo+sjOEAsq6QRAPO08YJJ85giW76p7qhliViOH7n0yeEzVINeyd9qVxCMP9YUhCij5MzXOEoMAMUKRUeQ==";
    private const string NotarySignerEcdsaRow = "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIiwicDJjIjo4MTkyLCJwMnMiOiJ3bThhNHRJXzRWemtlSlMzIn0.mnDOpUe0jw6NUhQtTw_ldltM5zhdfmMi3eQ_3s_OpNn5vX8Y7aNEZw.P5jVaAihqHSH_9ir.Mp8Ijsptd-6YkWnM6yYD2hL8OBSMox3K5CkInR9IG1b6mpSpt0trAummFmnqScPtM5FxsCBwpZG-B1-eKzCrzATzk5-4K8uej_IoL4CHl0AHpUpkjHSY2hb0lw_n5_4WMozPnHbhrGi3NXkGLHzcOMgwOLTU-wQ-6A.zYDcPVe-_4O2baNlcZPtTA";
    private const string NotarySignerEd25519Public = "OyZKUlXIpLUSUTBmg2QU7edsZ83KUyYrFIUesd/+kuY=";
    private const string NotarySignerEd25519Row = "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIiwicDJjIjo4MTkyLCJwMnMiOiJGekFwNGtvQ0tzX01HVWJaIn0.UvD-SL0o7AmApD8MSONrFXVqdrnLFxLlgXi3f6widqJvzvnjcevzXw.mZSP8vEKR6wNVk6e.ofIz2Io8r4s7NDosZgeY34CqND_nOmx0BLR8wKRD0N7cXwIhduBq_E3StOlswFNvLkWh8xgk8nBoM3iV-P0HW_pIF0zWfj65f7YlUTr-MO-P6ZGuiTagU2ZAOB1Aglbo.S7JFTzIcc6--lZ6iiCojVw";

    [Fact]
    public void Encrypt_ThenDecrypt_RoundTrips()
    {
        var plaintext = RandomNumberGenerator.GetBytes(121);

        var compact = Jwe.Encrypt(plaintext, Passphrase);

        Assert.Equal(plaintext, Jwe.Decrypt(compact, Passphrase));
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
    [InlineData("{\"protected\":\"a.b\",\"iv\":\"c.d\",\"ciphertext\":\"e.f\"}")] // JSON serialization, dots and all
    public void Decrypt_MalformedCompact_ThrowsKeyDecryptionException(string compact) =>
        Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(compact, Passphrase));

    [Theory]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":310001,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":0,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":\"8192\",\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192}")]
    [InlineData("{\"alg\":\"PBES2-HS512+A256KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A128GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\",\"zip\":\"DEF\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\",\"crit\":[\"x\"]}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":null}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":12}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":-1,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":1.5,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":1e400,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":2147483648,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":true,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":null,\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"AAAAAAAAAAAAAAAA\",\"p2s\":\"AAAAAAAAAAAAAAAA\"}")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("[1,2]")]
    [InlineData("{not json")]
    public void Decrypt_BadHeader_ThrowsKeyDecryptionException(string header)
    {
        var parts = Jwe.Encrypt([1, 2, 3], Passphrase).Split('.');
        parts[0] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header));

        Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(string.Join('.', parts), Passphrase));
    }

    // RFC 7518 §8.8: p2c comes from the row, so it is bounded before any key derivation. The token is otherwise valid
    // (written by jose-jwt with no bound), so only the bound can refuse it; one at the bound still decrypts.
    [Fact]
    public void Decrypt_IterationsAboveBound_IsRefused()
    {
        var unbounded = new Jose.JwtSettings().RegisterJwa(
            Jose.JweAlgorithm.PBES2_HS256_A128KW,
            new Jose.Pbse2HmacShaKeyManagementWithAesKeyWrap(128, new Jose.AesKeyWrapManagement(128)));
        string Token(int iterations) => Jose.JWT.EncodeBytes(
            [1, 2, 3],
            Passphrase,
            Jose.JweAlgorithm.PBES2_HS256_A128KW,
            Jose.JweEncryption.A256GCM,
            extraHeaders: new Dictionary<string, object> { ["p2c"] = iterations },
            settings: unbounded);

        var error = Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(Token(Jwe.MaxIterations + 1), Passphrase));
        Assert.Contains("'p2c'", error.Message, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], Jwe.Decrypt(Token(Jwe.MaxIterations), Passphrase));
    }

    // The row must be the canonical compact form; jose-jwt alone would also take padded or line-broken base64url.
    [Theory]
    [InlineData("==")]
    [InlineData("\r\n\r\n")]
    public void Decrypt_AuthenticTokenWithNonCanonicalBase64_IsRefused(string appended)
    {
        var parts = Jwe.Encrypt([1, 2, 3], Passphrase).Split('.');
        parts[4] += appended; // the 16-byte tag is 22 characters, so "==" is exactly its padding

        Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(string.Join('.', parts), Passphrase));
    }

    // Authentic tokens (the passphrase is known) that notary-signer never writes: jose-jwt would inflate the first and
    // ignore the critical extension of the second.
    [Fact]
    public void Decrypt_AuthenticTokenWithZipOrCrit_IsRefused()
    {
        var zipped = Jose.JWT.EncodeBytes(
            [1, 2, 3], Passphrase, Jose.JweAlgorithm.PBES2_HS256_A128KW, Jose.JweEncryption.A256GCM, Jose.JweCompression.DEF);
        var critical = Jose.JWT.EncodeBytes(
            [1, 2, 3],
            Passphrase,
            Jose.JweAlgorithm.PBES2_HS256_A128KW,
            Jose.JweEncryption.A256GCM,
            extraHeaders: new Dictionary<string, object> { ["crit"] = new[] { "exp" }, ["exp"] = 1 });

        Assert.All([zipped, critical], token => Assert.Contains(
            "zip or crit", Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(token, Passphrase)).Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Jwe.MaxIterations + 1)]
    public void Encrypt_IterationsOutOfRange_Throws(int iterations) =>
        Assert.ThrowsAny<ArgumentException>(() => Jwe.Encrypt([1, 2, 3], Passphrase, iterations));

    [Theory]
    [InlineData("ecdsa", NotarySignerEcdsaPublic, NotarySignerEcdsaRow)]
    [InlineData("ed25519", NotarySignerEd25519Public, NotarySignerEd25519Row)]
    public void Decrypt_RowWrittenByNotarySigner_YieldsItsPrivateKey(string algorithm, string publicKey, string compact)
    {
        var plaintext = Jwe.Decrypt(compact, NotarySignerPassphrase);

        using var key = PrivateKeyCodec.Decode(algorithm, plaintext);
        Assert.Equal(Convert.FromBase64String(publicKey), key.PublicKey.Public);
        Assert.Throws<KeyDecryptionException>(() => Jwe.Decrypt(compact, Passphrase));
    }

    // The other direction against the same reference: what we write has notary-signer's exact header (members, order,
    // p2c, salt length) and part lengths, so it differs from a notary-signer row only in its random values.
    [Fact]
    public void Encrypt_HasTheShapeOfANotarySignerRow()
    {
        var theirs = NotarySignerEcdsaRow.Split('.');

        var ours = Jwe.Encrypt(Jwe.Decrypt(NotarySignerEcdsaRow, NotarySignerPassphrase), NotarySignerPassphrase).Split('.');

        Assert.Equal(theirs.Select(p => p.Length), ours.Select(p => p.Length));
        const string header = "{\"alg\":\"PBES2-HS256+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"\"}";
        Assert.Equal(header, WithoutSalt(theirs[0]));
        Assert.Equal(header, WithoutSalt(ours[0]));
    }

    private static string WithoutSalt(string encodedHeader) =>
        Regex.Replace(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(encodedHeader)), "\"p2s\":\"[A-Za-z0-9_-]{16}\"", "\"p2s\":\"\"");
}

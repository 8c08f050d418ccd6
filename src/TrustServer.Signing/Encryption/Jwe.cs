using System.Buffers;
using System.Text.Json;
using Jose;
using TrustServer.Signing.Keys;

namespace TrustServer.Signing.Encryption;

/// <summary>
/// The JWE compact serialization notary-signer uses for private keys at rest (spec signer.md §5, RFC 7516):
/// key management <c>PBES2-HS256+A128KW</c> (RFC 7518 §4.8) and content encryption <c>A256GCM</c> (§5.3).
/// Only this one combination is produced or accepted. The cryptography is jose-jwt's (the .NET sibling of
/// notary-signer's jose2go), run with this class's own <see cref="JwtSettings"/>, never the library's global defaults.
/// </summary>
internal static class Jwe
{
    /// <summary>The <c>alg</c> value (and the <c>keywrap_alg</c> column).</summary>
    public const string KeyWrapAlgorithm = "PBES2-HS256+A128KW";

    /// <summary>The <c>enc</c> value (and the <c>encryption_alg</c> column).</summary>
    public const string EncryptionAlgorithm = "A256GCM";

    /// <summary>PBKDF2 iterations notary-signer (jose2go) writes.</summary>
    public const int DefaultIterations = 8192;

    /// <summary>
    /// Upper bound on <c>p2c</c>, checked before any PBKDF2 work, so a crafted row cannot make us spin (RFC 7518
    /// §8.8). jose-jwt's own bound for this algorithm (OWASP's PBKDF2-HMAC-SHA256 figure), ~38 times what
    /// notary-signer writes; a refused row costs nothing, an accepted one at most ~0.3 s of one core.
    /// </summary>
    public const int MaxIterations = 310_000;

    private static readonly JwtSettings Settings = new JwtSettings()
        .RegisterJwa(
            JweAlgorithm.PBES2_HS256_A128KW,
            new Pbse2HmacShaKeyManagementWithAesKeyWrap(128, new AesKeyWrapManagement(128), MaxIterations, minIterations: 1))
        .RegisterMapper(new GoMapOrderJsonMapper());

    // Five unpadded base64url parts: no padding, whitespace or JSON serialization (which jose-jwt would also accept).
    private static readonly SearchValues<char> CompactAlphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> under <paramref name="passphrase"/> with a fresh 12-byte salt, CEK and IV;
    /// returns the compact string. <paramref name="iterations"/> must be within 1..<see cref="MaxIterations"/>.
    /// </summary>
    public static string Encrypt(byte[] plaintext, string passphrase, int iterations = DefaultIterations) =>
        JWT.EncodeBytes(
            plaintext,
            passphrase,
            JweAlgorithm.PBES2_HS256_A128KW,
            JweEncryption.A256GCM,
            extraHeaders: new Dictionary<string, object> { ["p2c"] = iterations },
            settings: Settings);

    /// <summary>
    /// Decrypts a compact JWE. Throws <see cref="KeyDecryptionException"/> for anything malformed, an unsupported
    /// algorithm, an out-of-range <c>p2c</c>, or failed authentication (wrong passphrase or tampering).
    /// </summary>
    public static byte[] Decrypt(string compact, string passphrase)
    {
        if (compact.Count('.') != 4 || compact.AsSpan().ContainsAnyExcept(CompactAlphabet))
        {
            throw Malformed("expected 5 unpadded base64url parts");
        }

        try
        {
            var header = JWT.Headers(compact, Settings);

            // notary-signer never writes these; jose-jwt would inflate "zip" and ignore "crit": refuse rather than misread.
            if (header is null || header.ContainsKey("zip") || header.ContainsKey("crit"))
            {
                throw Malformed("header is not a JSON object or has zip or crit");
            }

            // jose-jwt casts these without checking their JSON type (p2s: null would surface as a NullReferenceException).
            if (!header.TryGetValue("p2c", out var p2c) || p2c is not long || !header.TryGetValue("p2s", out var p2s) || p2s is not string)
            {
                throw Malformed("p2c must be an integer and p2s a string");
            }

            // alg and enc are pinned; p2c is bounded by Settings before the key derivation.
            return JWT.DecodeBytes(compact, passphrase, JweAlgorithm.PBES2_HS256_A128KW, JweEncryption.A256GCM, Settings);
        }
        catch (IntegrityException ex)
        {
            throw new KeyDecryptionException("JWE decryption failed: wrong passphrase or corrupted key", ex);
        }
        catch (EncryptionException ex)
        {
            throw new KeyDecryptionException("JWE decryption failed: authentication tag mismatch", ex);
        }
        catch (Exception ex) when (ex is JoseException or ArgumentException or FormatException or OverflowException or JsonException)
        {
            throw new KeyDecryptionException($"malformed JWE: {ex.Message}", ex);
        }
    }

    private static KeyDecryptionException Malformed(string reason) => new($"malformed JWE: {reason}");

    /// <summary>
    /// jose-jwt's mapper, writing header members sorted by name as Go marshals a map: the header is then byte for byte
    /// notary-signer's, <c>{"alg":…,"enc":…,"p2c":…,"p2s":…}</c> (spec signer.md §5).
    /// </summary>
    private sealed class GoMapOrderJsonMapper : IJsonMapper
    {
        private readonly JsonMapper _inner = new();

        public string Serialize(object obj) =>
            _inner.Serialize(obj is IDictionary<string, object> members ? new SortedDictionary<string, object>(members, StringComparer.Ordinal) : obj);

        public T Parse<T>(string json) => _inner.Parse<T>(json);
    }
}

using System.Security.Cryptography;
using TrustServer.Tuf.Json;

namespace TrustServer.Tuf.Metadata;

/// <summary>Hash algorithm names Notary supports in <c>hashes</c> maps.</summary>
public static class HashAlgorithmNames
{
    /// <summary>SHA-256 (32-byte digest).</summary>
    public const string Sha256 = "sha256";

    /// <summary>SHA-512 (64-byte digest).</summary>
    public const string Sha512 = "sha512";
}

/// <summary>
/// <c>{"custom":…,"hashes":{alg:base64},"length":n}</c> describing a file (spec tuf-metadata.md §6).
/// Hash names other than sha256/sha512 are kept but ignored by checks.
/// </summary>
public sealed record FileMeta(long Length, IReadOnlyDictionary<string, byte[]> Hashes, JsonValue? Custom)
{
    /// <summary>The metadata of exact file bytes with sha256 and sha512, as the server writes it.</summary>
    public static FileMeta Of(ReadOnlySpan<byte> bytes) => new(
        bytes.Length,
        new Dictionary<string, byte[]>
        {
            [HashAlgorithmNames.Sha256] = SHA256.HashData(bytes),
            [HashAlgorithmNames.Sha512] = SHA512.HashData(bytes),
        },
        null);

    /// <summary>The sha256 hash as lowercase hex (how the store names files by checksum), or null when there is none.</summary>
    public string? Sha256Hex => Hashes.TryGetValue(HashAlgorithmNames.Sha256, out var sha256) ? Convert.ToHexStringLower(sha256) : null;

    /// <summary>
    /// Checks file bytes against the hashes: every supported hash present must match and at least one must be
    /// present. Returns null on success or Notary's error message.
    /// </summary>
    public static string? CheckHashes(ReadOnlySpan<byte> bytes, string name, IReadOnlyDictionary<string, byte[]>? hashes)
    {
        var checkedCount = 0;
        foreach (var (algorithm, expected) in (hashes ?? new Dictionary<string, byte[]>()).OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            byte[] actual;
            switch (algorithm)
            {
                case HashAlgorithmNames.Sha256:
                    actual = SHA256.HashData(bytes);
                    break;
                case HashAlgorithmNames.Sha512:
                    actual = SHA512.HashData(bytes);
                    break;
                default:
                    continue;
            }

            if (!CryptographicOperations.FixedTimeEquals(actual, expected))
            {
                return $"{algorithm} checksum for {name} did not match: expected {Convert.ToHexStringLower(expected)}";
            }

            checkedCount++;
        }

        return checkedCount == 0 ? $"no checksums for supported algorithms were provided for {name}" : null;
    }

    /// <summary>Checks that supported hashes have the right digest length and that there is at least one.</summary>
    public static string? CheckHashStructure(IReadOnlyDictionary<string, byte[]> hashes)
    {
        var supported = 0;
        foreach (var (algorithm, value) in hashes)
        {
            var expectedLength = algorithm switch
            {
                HashAlgorithmNames.Sha256 => 32,
                HashAlgorithmNames.Sha512 => 64,
                _ => -1,
            };
            if (expectedLength < 0)
            {
                continue;
            }

            if (value.Length != expectedLength)
            {
                return $"{algorithm} checksum invalid";
            }

            supported++;
        }

        return supported == 0 ? "at least one supported hash needed" : null;
    }

    /// <summary>The JSON form (custom omitted when absent).</summary>
    public JsonObject ToJson()
    {
        var hashes = new JsonObject();
        foreach (var (algorithm, value) in Hashes)
        {
            hashes.Set(algorithm, new JsonString(Convert.ToBase64String(value)));
        }

        var result = new JsonObject();
        if (Custom is not null)
        {
            result.Set("custom", Custom);
        }

        return result.Set("hashes", hashes).Set("length", new JsonNumber(Length));
    }

    /// <summary>Reads a FileMeta object.</summary>
    public static FileMeta FromJson(JsonValue value, string context)
    {
        var obj = JsonRead.Object(value, context);
        var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var hashObject = JsonRead.OptionalObject(obj, "hashes", context);
        if (hashObject is not null)
        {
            foreach (var (algorithm, digest) in hashObject.Members)
            {
                hashes[algorithm] = JsonRead.DecodeBase64(JsonRead.StringValue(digest, $"{context}.hashes.{algorithm}"), $"{context}.hashes.{algorithm}");
            }
        }

        var custom = obj["custom"];
        return new FileMeta(
            JsonRead.Int64(obj, "length", context),
            hashes,
            custom is null or JsonLiteral { Kind: JsonValueKind.Null } ? null : custom);
    }

    /// <summary>Reads a map of name → FileMeta.</summary>
    internal static Dictionary<string, FileMeta> MapFromJson(JsonObject parent, string key, string context)
    {
        var result = new Dictionary<string, FileMeta>(StringComparer.Ordinal);
        var obj = JsonRead.OptionalObject(parent, key, context);
        if (obj is not null)
        {
            foreach (var (name, meta) in obj.Members)
            {
                result[name] = FromJson(meta, $"{context}.{key}[{name}]");
            }
        }

        return result;
    }
}

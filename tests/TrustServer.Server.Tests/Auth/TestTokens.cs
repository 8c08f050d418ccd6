using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Auth;

/// <summary>Hand-made JWS tokens (independent of the server's issuer code), good or deliberately bad.</summary>
internal static class TestTokens
{
    public static string B64(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string B64(JsonNode node) => B64(Encoding.UTF8.GetBytes(node.ToJsonString()));

    public static JsonObject Header(string alg, params TestCertificate[] chain) => new()
    {
        ["typ"] = "JWT",
        ["alg"] = alg,
        ["x5c"] = new JsonArray([.. chain.Select(c => JsonValue.Create(Convert.ToBase64String(c.Certificate.RawData)))]),
    };

    public static JsonObject Claims(DateTimeOffset now, string gun, params string[] actions) => new()
    {
        ["iss"] = "test-issuer",
        ["sub"] = "alice",
        ["aud"] = "notary-server",
        ["exp"] = now.ToUnixTimeSeconds() + 300,
        ["nbf"] = now.ToUnixTimeSeconds() - 10,
        ["iat"] = now.ToUnixTimeSeconds(),
        ["jti"] = "abc",
        ["access"] = new JsonArray(new JsonObject
        {
            ["type"] = "repository",
            ["name"] = gun,
            ["actions"] = new JsonArray([.. actions.Select(a => JsonValue.Create(a))]),
        }),
    };

    /// <summary>Signs with the key of <paramref name="signer"/> as the header's alg says (ES*, RS*).</summary>
    public static string Sign(JsonObject header, JsonObject claims, TestCertificate signer)
    {
        var input = B64(header) + "." + B64(claims);
        var data = Encoding.ASCII.GetBytes(input);
        var alg = header["alg"]!.GetValue<string>();
        var hash = alg[2..] switch { "384" => HashAlgorithmName.SHA384, "512" => HashAlgorithmName.SHA512, _ => HashAlgorithmName.SHA256 };
        var signature = signer.PrivateKey switch
        {
            ECDsa ec => ec.SignData(data, hash),
            RSA rsa => rsa.SignData(data, hash, RSASignaturePadding.Pkcs1),
            _ => throw new NotSupportedException(),
        };
        return input + "." + B64(signature);
    }

    /// <summary>HMAC-signed with arbitrary key bytes (the classic "public key as HMAC secret" attack).</summary>
    public static string SignHmac(JsonObject header, JsonObject claims, byte[] key)
    {
        var input = B64(header) + "." + B64(claims);
        return input + "." + B64(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(input)));
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace TrustServer.Server.Tests.Support;

/// <summary>Uploads as the notary client sends them, and checks of Notary's error envelope.</summary>
internal static class NotaryHttp
{
    /// <summary>A multipart upload with one <c>files</c> part per role, the role as file name.</summary>
    public static MultipartFormDataContent Upload(params (string Role, byte[] Data)[] files)
    {
        var content = new MultipartFormDataContent("server-tests-boundary");
        foreach (var (role, data) in files)
        {
            var part = new ByteArrayContent(data);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"files\"", FileName = $"\"{role}\"" };
            content.Add(part);
        }

        return content;
    }

    /// <summary>A body sent as is under a multipart content type.</summary>
    public static ByteArrayContent RawMultipart(string body, string boundary)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
        return content;
    }

    /// <summary>Asserts a Notary error: status, JSON content type, the envelope with this code and Go's trailing newline.</summary>
    public static async Task<JsonElement> AssertNotaryErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.EndsWith("}\n", body, StringComparison.Ordinal);
        var error = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        return error;
    }
}

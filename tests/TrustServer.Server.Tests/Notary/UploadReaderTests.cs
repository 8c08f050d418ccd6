using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TrustServer.Server.Notary;
using TrustServer.Server.Options;

namespace TrustServer.Server.Tests.Notary;

/// <summary>The multipart reader of <c>POST …/_trust/tuf/</c> (spec server-api.md §4), on request objects, no server.</summary>
public sealed class UploadReaderTests
{
    private const string Boundary = "upload-reader-tests";

    private static readonly LimitsOptions Limits = new() { MaxFileBytes = 200 * 1024, MaxUploadBytes = 512 * 1024, MaxParts = 3 };

    [Fact]
    public async Task Parts_AreReadInOrder_RoleIsTheFileNameWithoutOneJsonSuffix_BytesVerbatim()
    {
        var root = Envelope("Root");
        var targets = Envelope("Targets", padding: 150 * 1024); // several read chunks

        var (uploads, error) = await ReadAsync(Body(("root.json", root), ("targets", targets)));

        Assert.Null(error);
        Assert.NotNull(uploads);
        Assert.Equal(["root", "targets"], uploads.Select(u => u.Role));
        Assert.Equal(root, uploads[0].File.Bytes);
        Assert.Equal(targets, uploads[1].File.Bytes);
    }

    [Fact]
    public async Task FileNameStar_IsUsedWhenThereIsNoFileName()
    {
        var body = $"--{Boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''targets.json\r\n\r\n"
            + Encoding.UTF8.GetString(Envelope("Targets")) + $"\r\n--{Boundary}--\r\n";

        var (uploads, error) = await ReadAsync(Encoding.UTF8.GetBytes(body));

        Assert.Null(error);
        Assert.Equal("targets", Assert.Single(uploads!).Role);
    }

    [Theory]
    [InlineData("", "NO_FILENAME")]
    [InlineData(".json", "NO_FILENAME")]
    [InlineData("targets.json.json", "INVALID_ROLE")]
    [InlineData("Targets", "INVALID_ROLE")]
    [InlineData("targets/../root", "INVALID_ROLE")]
    public async Task BadRoleName_IsRefused(string fileName, string code) =>
        await AssertErrorAsync(await ReadAsync(Body((fileName, Envelope("Targets")))), 400, code);

    [Fact]
    public async Task PartThatIsNotAnEnvelope_IsMalformedJson() =>
        await AssertErrorAsync(await ReadAsync(Body(("targets", "[1,2]"u8.ToArray()))), 400, "MALFORMED_JSON");

    [Fact]
    public async Task NotMultipart_IsMalformedUpload() =>
        await AssertErrorAsync(await ReadAsync(Envelope("Targets"), contentType: "application/json"), 400, "MALFORMED_UPLOAD");

    [Fact]
    public async Task DeclaredLengthOverTheLimit_IsMalformedUpload_BeforeReading()
    {
        var (_, error) = await ReadAsync(Body(("targets", Envelope("Targets"))), contentLength: Limits.MaxUploadBytes + 1);

        var detail = await AssertErrorAsync((null, error), 400, "MALFORMED_UPLOAD");
        Assert.Equal($"the upload exceeds {Limits.MaxUploadBytes} bytes", detail.GetString());
    }

    [Fact]
    public async Task PartOverTheFileLimit_IsMalformedUpload()
    {
        var detail = await AssertErrorAsync(await ReadAsync(Body(("targets", Envelope("Targets", padding: 300 * 1024)))), 400, "MALFORMED_UPLOAD");
        Assert.Equal($"a part exceeds {Limits.MaxFileBytes} bytes", detail.GetString());
    }

    [Fact]
    public async Task MorePartsThanAllowed_IsMalformedUpload()
    {
        var parts = Enumerable.Range(0, 4).Select(i => ($"targets/r{i}", Envelope("Targets"))).ToArray();

        var detail = await AssertErrorAsync(await ReadAsync(Body(parts)), 400, "MALFORMED_UPLOAD");
        Assert.Equal($"the upload has more than {Limits.MaxParts} parts", detail.GetString());
    }

    [Theory]
    [InlineData("--upload-reader-tests\r\nContent-Disposition: form-data; name=\"files\"; filename=\"targets\"\r\n\r\n{\"sig")]
    [InlineData("no boundary anywhere")]
    public async Task TruncatedBody_IsMalformedUpload(string body) =>
        await AssertErrorAsync(await ReadAsync(Encoding.UTF8.GetBytes(body)), 400, "MALFORMED_UPLOAD");

    private static byte[] Envelope(string type, int padding = 0) => Encoding.UTF8.GetBytes(
        $"{{\"signed\":{{\"_type\":\"{type}\",\"expires\":\"2030-01-01T00:00:00Z\",\"pad\":\"{new string('p', padding)}\",\"version\":1}},\"signatures\":[]}}");

    private static byte[] Body(params (string FileName, byte[] Data)[] parts)
    {
        using var body = new MemoryStream();
        foreach (var (fileName, data) in parts)
        {
            body.Write(Encoding.UTF8.GetBytes($"--{Boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{fileName}\"\r\n\r\n"));
            body.Write(data);
            body.Write("\r\n"u8);
        }

        body.Write(Encoding.UTF8.GetBytes($"--{Boundary}--\r\n"));
        return body.ToArray();
    }

    private static Task<(List<TrustServer.Tuf.Validation.MetadataUpload>? Uploads, NotaryErrorResult? Error)> ReadAsync(
        byte[] body, string? contentType = null, long? contentLength = null)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = contentType ?? $"multipart/form-data; boundary={Boundary}";
        context.Request.ContentLength = contentLength ?? body.Length;
        context.Request.Body = new MemoryStream(body);
        return UploadReader.ReadAsync(context.Request, Limits);
    }

    // Runs the error result against a response and checks the Notary envelope; returns the detail.
    private static async Task<JsonElement> AssertErrorAsync((List<TrustServer.Tuf.Validation.MetadataUpload>? Uploads, NotaryErrorResult? Error) read, int status, string code)
    {
        Assert.Null(read.Uploads);
        var context = new DefaultHttpContext();
        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;
        await Assert.IsType<NotaryErrorResult>(read.Error).ExecuteAsync(context);

        Assert.Equal(status, context.Response.StatusCode);
        var error = Assert.Single(JsonDocument.Parse(responseBody.ToArray()).RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(code, error.GetProperty("code").GetString());
        return error.TryGetProperty("detail", out var detail) ? detail.Clone() : default;
    }
}

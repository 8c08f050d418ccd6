using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>Uploads beyond <c>Limits:MaxConcurrentUploads</c> wait, then get 503 UNAVAILABLE with Retry-After (issue §5).</summary>
public sealed class UploadGateTests
{
    private const string Boundary = "gate-boundary";

    [Fact]
    public async Task UploadsBeyondTheLimit_GetUnavailableWithRetryAfter_UntilTheTurnIsFree()
    {
        using var directory = new TemporaryDirectory("trustserver-upload-gate");
        await using var server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(directory.Combine("gate.db")),
            [new("Limits:MaxConcurrentUploads", "1"), new("Limits:UploadQueueTimeoutSeconds", "1")]);
        var url = "/v2/example.com/gate/_trust/tuf/";

        // The first upload takes the only turn and keeps it: its body does not end until released.
        var release = new TaskCompletionSource();
        using var stalledContent = new StalledContent(release.Task);
        var stalled = server.Http.PostAsync(url, stalledContent);
        await stalledContent.HeadSent;

        // Probes are complete uploads (refused as MALFORMED_JSON when they get a turn). Once the stalled upload holds
        // the turn, a probe waits its second and is answered 503.
        HttpResponseMessage? unavailable = null;
        for (var i = 0; i < 30 && unavailable is null; i++)
        {
            var probe = await server.Http.PostAsync(url, Probe());
            if (probe.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                unavailable = probe;
            }
            else
            {
                Assert.Equal(HttpStatusCode.BadRequest, probe.StatusCode);
            }
        }

        Assert.NotNull(unavailable);
        Assert.Equal("1", string.Join(",", unavailable.Headers.GetValues("Retry-After")));
        var body = await unavailable.Content.ReadAsStringAsync();
        Assert.Equal(
            "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"service unavailable\",\"detail\":\"more than 1 uploads in progress; retry later\"}]}\n",
            body);

        // The stalled upload finishes (its JSON is cut short: MALFORMED_JSON), and the turn is free again.
        release.SetResult();
        var first = await stalled;
        Assert.Equal("MALFORMED_JSON", Code(await first.Content.ReadAsStringAsync()));
        var after = await server.Http.PostAsync(url, Probe());
        Assert.Equal("MALFORMED_JSON", Code(await after.Content.ReadAsStringAsync()));
    }

    private static string? Code(string body) =>
        JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString();

    private static ByteArrayContent Probe()
    {
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes(Head + "{\"signed\":\r\n--" + Boundary + "--\r\n"));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=" + Boundary);
        return content;
    }

    private static string Head => $"--{Boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"targets\"\r\n\r\n";

    // A multipart body sent in two pieces: the part's head and the start of its JSON, then (once released) the end.
    private sealed class StalledContent : HttpContent
    {
        private readonly Task _release;
        private readonly TaskCompletionSource _headSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StalledContent(Task release)
        {
            _release = release;
            Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=" + Boundary);
        }

        public Task HeadSent => _headSent.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Head + "{\"signed\":{"));
            await stream.FlushAsync();
            _headSent.SetResult();
            await _release;
            await stream.WriteAsync(Encoding.ASCII.GetBytes("\r\n--" + Boundary + "--\r\n"));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

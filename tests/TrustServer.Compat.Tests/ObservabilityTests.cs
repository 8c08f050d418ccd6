using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using TrustServer.Compat.Tests.Support;

namespace TrustServer.Compat.Tests;

/// <summary>Metrics and probes of a running server (embedded default storage).</summary>
public sealed class ObservabilityTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    private readonly TrustServerInstance _server = fixture.Instance;

    [Fact]
    public async Task Metrics_MoveAfterAPublishAndARejectedUpdate()
    {
        var before = await MetricsAsync();
        using var client = _server.NewClient();
        await client.RunCheckedAsync(["init", "example.com/metrics/repo", "--publish"]);
        var rejected = await _server.Http.PostAsync("/v2/example.com/metrics/other/_trust/tuf/", new ByteArrayContent("\r\n--b--\r\n"u8.ToArray())
        {
            Headers = { ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b") },
        });
        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);

        var after = await MetricsAsync();
        Assert.True(Value(after, "trustserver_publishes_total{outcome=\"accepted\"}") >= Value(before, "trustserver_publishes_total{outcome=\"accepted\"}") + 1, after);
        Assert.True(Value(after, "trustserver_publishes_total{outcome=\"ErrValidation\"}") >= Value(before, "trustserver_publishes_total{outcome=\"ErrValidation\"}") + 1, after);
        Assert.True(Value(after, "trustserver_http_requests_total{route=\"UpdateTUF\",method=\"POST\",code=\"200\"}") >= 1, after);
        Assert.True(Value(after, "trustserver_http_requests_total{route=\"GetKey\",method=\"GET\",code=\"200\"}") >= 1, after);
        Assert.True(Value(after, "trustserver_signer_calls_total{operation=\"sign\",result=\"ok\"}") >= 1, after);
        Assert.Contains("trustserver_http_request_duration_seconds_bucket{route=\"UpdateTUF\"", after, StringComparison.Ordinal);
        foreach (var phase in new[] { "load", "validate", "sign", "commit" })
        {
            Assert.True(Value(after, $"trustserver_publish_phase_seconds_count{{phase=\"{phase}\"}}") >= 1, phase);
        }


        // No GUN ever becomes a label.
        Assert.DoesNotContain("example.com/metrics", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probes_LiveAndReady()
    {
        Assert.Equal(HttpStatusCode.OK, (await _server.Http.GetAsync("/healthz/live")).StatusCode);
        var ready = await _server.Http.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ready", body.GetProperty("reads").GetString());
        Assert.Equal("ready", body.GetProperty("writes").GetString());
    }

    private async Task<string> MetricsAsync()
    {
        var response = await _server.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static double Value(string metrics, string series)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " ([0-9.eE+-]+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}

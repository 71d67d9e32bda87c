using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cluster.Persistence;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Cluster.Hosting.Tests;

/// <summary>
/// The cluster's inner ports: no Orleans gateway unless configured, and with <c>Cluster:Tls</c> the silo port speaks
/// only mutual TLS with holders of a certificate from the cluster's authority.
/// </summary>
public sealed class ClusterTlsTests : IDisposable
{
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(90);

    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("cluster-tls-");
    private readonly TestAuthority authority;
    private readonly TestAuthority stranger;

    public ClusterTlsTests()
    {
        authority = new TestAuthority("cluster test CA", directory.FullName);
        stranger = new TestAuthority("some other CA", directory.FullName);
    }

    public void Dispose()
    {
        authority.Dispose();
        stranger.Dispose();
        directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Start_Defaults_NoOrleansGateway()
    {
        await using var silo = await TestSilo.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        var endpoints = silo.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EndpointOptions>>().Value;
        Assert.Equal(0, endpoints.GatewayPort);
    }

    [Fact]
    public async Task SiloPort_WithTls_AcceptsOnlyCertificatesOfTheClusterAuthority()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var siloPort = FreePorts.Next();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Settings = TlsSettings(authority.Issue("silo-a"), siloPort) }, cancellationToken);

        // The positive control: a peer with a certificate of the cluster's authority completes the handshake.
        await using (var member = await HandshakeAsync(siloPort, authority.Issue("silo-b"), cancellationToken))
        {
            Assert.True(member.IsMutuallyAuthenticated, "a silo certificate from the cluster authority should be accepted");
        }

        // A certificate from another authority, and none at all: the silo ends the handshake.
        await Assert.ThrowsAnyAsync<Exception>(async () => await (await HandshakeAsync(siloPort, stranger.Issue("intruder"), cancellationToken)).DisposeAsync());
        await Assert.ThrowsAnyAsync<Exception>(async () => await (await HandshakeAsync(siloPort, null, cancellationToken)).DisposeAsync());

        // Plain bytes (an Orleans connection preamble without TLS) get no answer: the connection is closed.
        using var plain = new TcpClient();
        await plain.ConnectAsync(System.Net.IPAddress.Loopback, siloPort, cancellationToken);
        var stream = plain.GetStream();
        await stream.WriteAsync(new byte[] { 0, 0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, cancellationToken);
        var buffer = new byte[1024];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        var read = await ReadUntilClosedAsync(stream, buffer, deadline.Token);
        Assert.True(read.Closed, "the silo should close a connection that does not speak TLS");
        Assert.False(read.Bytes > 0 && buffer[0] != 0x15, "the silo should send nothing but a TLS alert to a non-TLS peer");

        // The silo itself still serves.
        using var http = silo.CreateHttpClient();
        Assert.True((await http.GetAsync(new Uri("/health/ready", UriKind.Relative), cancellationToken)).IsSuccessStatusCode);
    }

    [Fact]
    public async Task Cluster_TwoSilosWithTls_FormOneClusterAndCallEachOther()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var database = await PostgresDatabase.CreateAsync();
        await SchemaMigrator.MigrateAsync(StorageKind.PostgreSql, database.ConnectionString, cancellationToken);

        await using var a = await TestSilo.StartAsync(
            new TestSiloSettings { PostgresConnectionString = database.ConnectionString, Settings = TlsSettings(authority.Issue("silo-a"), FreePorts.Next()) },
            cancellationToken);
        await using var b = await TestSilo.StartAsync(
            new TestSiloSettings { PostgresConnectionString = database.ConnectionString, Settings = TlsSettings(authority.Issue("silo-b"), FreePorts.Next()) },
            cancellationToken);

        await a.WaitForActiveSilosAsync(2, MembershipTimeout, cancellationToken);
        await b.WaitForActiveSilosAsync(2, MembershipTimeout, cancellationToken);

        // A call that runs on the other silo, over the TLS connection between them.
        var statistics = await a.Grains.GetGrain<IManagementGrain>(0).GetRuntimeStatistics([b.SiloAddress], cancellationToken);
        Assert.Single(statistics);
    }

    private static Dictionary<string, string> TlsSettings(TestAuthority.Issued certificate, int siloPort) => new()
    {
        ["Cluster:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Cluster:Tls:CertificatePath"] = certificate.CertificatePath,
        ["Cluster:Tls:KeyPath"] = certificate.KeyPath,
        ["Cluster:Tls:CertificateAuthorityPath"] = certificate.AuthorityPath,
    };

    private static async Task<SslStream> HandshakeAsync(int port, TestAuthority.Issued? certificate, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port, cancellationToken);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        using var client = certificate is null ? null : X509Certificate2.CreateFromPemFile(certificate.CertificatePath, certificate.KeyPath);
        using var exported = client is null ? null : X509CertificateLoader.LoadPkcs12(client.Export(X509ContentType.Pkcs12), null);
        try
        {
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = "silo",
                    ClientCertificates = exported is null ? null : [exported],
                    // The silo's certificate is the cluster authority's (the test is about the silo checking its peer).
                    RemoteCertificateValidationCallback = (_, server, _, _) => server?.Issuer == "CN=cluster test CA",
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                },
                cancellationToken);

            // With TLS 1.3 the server's verdict on the client certificate arrives after the client's handshake ends:
            // a read surfaces it (a rejected client sees the connection fail; an accepted one waits for data).
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            probe.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                var read = await ssl.ReadAsync(new byte[1], probe.Token);
                if (read == 0)
                {
                    throw new AuthenticationException("the silo closed the connection after the handshake");
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Still open after the handshake: accepted.
            }

            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    private static async Task<(bool Closed, int Bytes)> ReadUntilClosedAsync(NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(Math.Min(total, buffer.Length - 1)), cancellationToken);
                if (read == 0)
                {
                    return (true, total);
                }

                total += read;
            }
        }
        catch (IOException)
        {
            return (true, total);
        }
        catch (OperationCanceledException)
        {
            return (false, total);
        }
    }

    /// <summary>A certificate authority made for one test, issuing silo certificates as PEM files.</summary>
    private sealed class TestAuthority : IDisposable
    {
        private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        private readonly X509Certificate2 certificate;
        private readonly string directory;
        private readonly string path;

        public TestAuthority(string name, string directory)
        {
            this.directory = directory;
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddDays(2));
            path = Path.Combine(directory, $"{Guid.NewGuid():N}-ca.pem");
            File.WriteAllText(path, certificate.ExportCertificatePem());
        }

        public Issued Issue(string name)
        {
            using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", leafKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            var serial = RandomNumberGenerator.GetBytes(16);
            using var issued = request.Create(certificate, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
            var stem = Path.Combine(directory, $"{Guid.NewGuid():N}-{name}");
            File.WriteAllText($"{stem}.pem", issued.ExportCertificatePem());
            File.WriteAllText($"{stem}.key", leafKey.ExportPkcs8PrivateKeyPem());
            return new Issued($"{stem}.pem", $"{stem}.key", path);
        }

        public void Dispose()
        {
            certificate.Dispose();
            key.Dispose();
        }

        public sealed record Issued(string CertificatePath, string KeyPath, string AuthorityPath);
    }
}

using System.Net;
using Cluster.Cli;
using Cluster.Testing;

namespace Cluster.Devices.Tests;

/// <summary>The <c>verify</c> and <c>register</c> commands against a real silo, codes read from its development sender.</summary>
[Collection(SharedSilo.Name)]
public sealed class AccountCliTests(SiloFixture fixture)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task VerifyThenRegister_CodeFromSender_AccountRegisteredAndLoginWorks()
    {
        var silo = fixture.Silo;
        var number = TestAccounts.NewAccountId();
        using var verifyOutput = new StringWriter();
        using var registerOutput = new StringWriter();
        using var error = new StringWriter();

        var verified = await CliApplication.RunAsync(["verify", number, "--server", silo.BaseAddress.ToString()], verifyOutput, error, Cancel);
        var registered = await CliApplication.RunAsync(["register", number, TestAccounts.SentCode(number), "--server", silo.BaseAddress.ToString()], registerOutput, error, Cancel);

        Assert.Equal(ExitCodes.Success, verified);
        Assert.Equal(ExitCodes.Success, registered);
        var password = registerOutput.ToString().Split('\n').Single(l => l.StartsWith("Password: ", StringComparison.Ordinal))["Password: ".Length..].Trim();
        using var http = silo.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = TestDevice.BasicAuth($"{number}.1", password);
        using var devices = await http.GetAsync("/v1/devices", Cancel);
        Assert.Equal(HttpStatusCode.OK, devices.StatusCode);
    }

    [Fact]
    public async Task Register_WrongCode_FailureAndNothingRegistered()
    {
        var silo = fixture.Silo;
        var number = TestAccounts.NewAccountId();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await CliApplication.RunAsync(["register", number, "000000", "--server", silo.BaseAddress.ToString()], output, error, Cancel);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains("invalid_code", output.ToString(), StringComparison.Ordinal);
    }
}

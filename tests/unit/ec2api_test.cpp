// The EC2 Query API's pieces: the Query decoder and the XML encoder against
// documents written from EC2's API reference, SigV4 against AWS's published
// test-suite vectors, the request pipeline (auth, pages, errors) with a fake
// model behind it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>

#include "access_keys.h"
#include "api_error.h"
#include "control_tasks.h"
#include "ec2_model.h"
#include "ec2_service.h"
#include "state_store.h"
#include "vf_table.h"
#include "form_params.h"
#include "http_endpoint.h"
#include "pagination.h"
#include "query_api.h"
#include "query_decoder.h"
#include "request_auth.h"
#include "sigv4.h"
#include "xml_encoder.h"

using namespace venic::ec2api;
using nlohmann::json;

namespace {

QueryRequest decode(const std::string& text) {
  FormParams f;
  parse_form(text, f);
  return decode_query(f);
}

std::string error_code(const std::string& text) {
  try {
    decode(text);
  } catch (const ApiError& e) {
    return e.code;
  }
  return "";
}

}  // namespace

// ---- the Query decoder ------------------------------------------------------

TEST(QueryDecoder, DescribeInstancesFiltersFromTheApiReference) {
  auto q = decode(
      "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-type&Filter.1.Value.1=m1.small&"
      "Filter.1.Value.2=m1.large&Filter.2.Name=block-device-mapping.status&Filter.2.Value.1=attached&"
      "InstanceId.1=i-1234567890abcdef0");
  EXPECT_EQ(q.action, "DescribeInstances");
  EXPECT_EQ(q.params, json::parse(R"({"Filters": [{"Name": "instance-type", "Values": ["m1.small", "m1.large"]},
      {"Name": "block-device-mapping.status", "Values": ["attached"]}], "InstanceIds": ["i-1234567890abcdef0"]})"));
}

TEST(QueryDecoder, RunInstancesTypesItsNumbersAndRenamesItsLists) {
  auto q = decode(
      "Action=RunInstances&ImageId=ami-31814f58&InstanceType=m1.small&MaxCount=1&MinCount=1&KeyName=my-key-pair&"
      "SecurityGroupId.1=sg-1a2b3c4d&SecurityGroupId.2=sg-9b8a7c6d&ClientToken=550e8400&Placement.GroupName=pg1&"
      "TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=web");
  EXPECT_EQ(q.params, json::parse(R"({"ImageId": "ami-31814f58", "InstanceType": "m1.small", "MaxCount": 1,
      "MinCount": 1, "KeyName": "my-key-pair", "SecurityGroupIds": ["sg-1a2b3c4d", "sg-9b8a7c6d"],
      "ClientToken": "550e8400", "Placement": {"GroupName": "pg1"},
      "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}]})"));
}

TEST(QueryDecoder, RunInstancesNetworkInterfaces) {
  auto q = decode(
      "Action=RunInstances&InstanceType=c5.large&MinCount=1&MaxCount=1&NetworkInterface.1.DeviceIndex=0&"
      "NetworkInterface.1.SubnetId=subnet-6e7f829e&NetworkInterface.1.SecurityGroupId.1=sg-1a2b3c4d&"
      "NetworkInterface.1.AssociatePublicIpAddress=true&NetworkInterface.1.InterfaceType=efa");
  EXPECT_EQ(q.params["NetworkInterfaces"], json::parse(R"([{"DeviceIndex": 0, "SubnetId": "subnet-6e7f829e",
      "Groups": ["sg-1a2b3c4d"], "AssociatePublicIpAddress": true, "InterfaceType": "efa"}])"));
}

TEST(QueryDecoder, AuthorizeSecurityGroupIngressFromTheApiReference) {
  auto q = decode(
      "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1a2b3c4d&IpPermissions.1.IpProtocol=tcp&"
      "IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=192.0.2.0%2F24&"
      "IpPermissions.1.IpRanges.2.CidrIp=198.51.100.0/24&IpPermissions.2.IpProtocol=-1&"
      "IpPermissions.2.Groups.1.GroupId=sg-9a8d7f5c");
  EXPECT_EQ(q.params, json::parse(R"({"GroupId": "sg-1a2b3c4d", "IpPermissions": [
      {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
       "IpRanges": [{"CidrIp": "192.0.2.0/24"}, {"CidrIp": "198.51.100.0/24"}]},
      {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-9a8d7f5c"}]}]})"));
}

TEST(QueryDecoder, NetworkInterfaceActions) {
  EXPECT_EQ(decode("Action=CreateNetworkInterface&SubnetId=subnet-b2a249da&SecurityGroupId.1=sg-1a2b3c4d&"
                   "PrivateIpAddresses.1.PrivateIpAddress=10.0.2.17&PrivateIpAddresses.1.Primary=true&"
                   "SecondaryPrivateIpAddressCount=2&Description=my+eni")
                .params,
            json::parse(R"({"SubnetId": "subnet-b2a249da", "Groups": ["sg-1a2b3c4d"],
      "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.2.17", "Primary": true}],
      "SecondaryPrivateIpAddressCount": 2, "Description": "my eni"})"));
  EXPECT_EQ(decode("Action=ModifyNetworkInterfaceAttribute&NetworkInterfaceId=eni-ffda3197&SourceDestCheck.Value=false")
                .params["SourceDestCheck"],
            json::parse(R"({"Value": false})"));
  EXPECT_EQ(decode("Action=ModifyNetworkInterfaceAttribute&NetworkInterfaceId=eni-ffda3197&Description.Value=true")
                .params["Description"],
            json::parse(R"({"Value": "true"})"));
  EXPECT_EQ(decode("Action=AttachNetworkInterface&NetworkInterfaceId=eni-ffda3197&InstanceId=i-1&DeviceIndex=1").params,
            json::parse(R"({"NetworkInterfaceId": "eni-ffda3197", "InstanceId": "i-1", "DeviceIndex": 1})"));
  EXPECT_EQ(decode("Action=UnassignPrivateIpAddresses&NetworkInterfaceId=eni-1&PrivateIpAddress.1=10.0.0.82&"
                   "PrivateIpAddress.2=10.0.0.83")
                .params["PrivateIpAddresses"],
            json::parse(R"(["10.0.0.82", "10.0.0.83"])"));
  EXPECT_EQ(decode("Action=UnassignIpv6Addresses&NetworkInterfaceId=eni-1&Ipv6Addresses.1=2001:db8::1").params,
            json::parse(R"({"NetworkInterfaceId": "eni-1", "Ipv6Addresses": ["2001:db8::1"]})"));
  EXPECT_EQ(decode("Action=DetachNetworkInterface&AttachmentId=eni-attach-1&Force=true").params["Force"], true);
}

TEST(QueryDecoder, RenamesWhereTheQueryNameIsNotTheMemberName) {
  EXPECT_EQ(decode("Action=CreateSecurityGroup&GroupName=web&GroupDescription=Web+servers&VpcId=vpc-1").params,
            json::parse(R"({"GroupName": "web", "Description": "Web servers", "VpcId": "vpc-1"})"));
  EXPECT_EQ(decode("Action=DescribeVpcs&VpcId.1=vpc-1&VpcId.2=vpc-2").params["VpcIds"],
            json::parse(R"(["vpc-1","vpc-2"])"));
  EXPECT_EQ(decode("Action=DescribeSubnets&SubnetId.1=subnet-1").params["SubnetIds"], json::parse(R"(["subnet-1"])"));
  EXPECT_EQ(decode("Action=DescribeSecurityGroups&GroupId.1=sg-1&GroupName.1=web").params,
            json::parse(R"({"GroupIds": ["sg-1"], "GroupNames": ["web"]})"));
  EXPECT_EQ(decode("Action=DescribeInstanceTypes&InstanceType.1=c5n.18xlarge&MaxResults=5").params,
            json::parse(R"({"InstanceTypes": ["c5n.18xlarge"], "MaxResults": 5})"));
  EXPECT_EQ(decode("Action=DescribeNetworkInterfaces&NetworkInterfaceId.1=eni-1").params["NetworkInterfaceIds"],
            json::parse(R"(["eni-1"])"));
  EXPECT_EQ(decode("Action=TerminateInstances&InstanceId.1=i-1&InstanceId.2=i-2").params["InstanceIds"],
            json::parse(R"(["i-1","i-2"])"));
  EXPECT_EQ(decode("Action=ModifySubnetAttribute&SubnetId=subnet-1&MapPublicIpOnLaunch.Value=true").params,
            json::parse(R"({"SubnetId": "subnet-1", "MapPublicIpOnLaunch": {"Value": true}})"));
  EXPECT_EQ(decode("Action=RevokeSecurityGroupEgress&GroupId=sg-1&IpPermissions.1.IpProtocol=-1&"
                   "IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0")
                .params["IpPermissions"][0]["IpRanges"][0]["CidrIp"],
            "0.0.0.0/0");
}

TEST(QueryDecoder, ListsKeepTheirIndexOrderWhateverTheOrderSent) {
  EXPECT_EQ(
      decode("Action=DescribeInstances&InstanceId.2=i-b&InstanceId.10=i-c&InstanceId.1=i-a").params["InstanceIds"],
      json::parse(R"(["i-a","i-b","i-c"])"));
}

TEST(QueryDecoder, RefusesWhatIsMalformedOrOutOfBounds) {
  EXPECT_EQ(error_code("Version=2016-11-15"), "MissingAction");
  EXPECT_EQ(error_code("Action=ReleaseTheKraken"), "InvalidAction");
  EXPECT_EQ(error_code("Action=DescribeVpcs&Action=DescribeVpcs"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&InstanceId.0=i-1"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&InstanceId.1001=i-1"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&InstanceId.99999999999=i-1"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&InstanceId.1=i-1&InstanceId.1=i-2"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&InstanceId=i-1&InstanceId.1=i-2"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&InstanceId.1=i-1&InstanceIds.1=i-2"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&Filter.1.Name=a&Filter.1.1=b"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&1=x"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&A..B=x"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&A%3CB=x"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeInstances&A.B.C.D.E.F.G=x"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=RunInstances&MinCount=one"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=RunInstances&MinCount=99999999999999999999"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DetachNetworkInterface&Force=maybe"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeVpcs&VpcId.1=%zz"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeVpcs&VpcId.1=%4"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=DescribeVpcs&" + std::string(300, 'A') + "=x"), "InvalidParameterValue");
  EXPECT_EQ(error_code("Action=CreateSecurityGroup&GroupName=%80"), "InvalidParameterValue");        // not UTF-8
  EXPECT_EQ(error_code("Action=CreateSecurityGroup&GroupName=%C0%AF"), "InvalidParameterValue");     // overlong
  EXPECT_EQ(error_code("Action=CreateSecurityGroup&GroupName=%ED%A0%80"), "InvalidParameterValue");  // surrogate
  EXPECT_EQ(error_code("Action=CreateSecurityGroup&GroupName=%E2%82"), "InvalidParameterValue");     // cut short
  EXPECT_EQ(decode("Action=CreateSecurityGroup&GroupName=caf%C3%A9+%E2%82%AC%F0%9F%98%80").params["GroupName"],
            "caf\u00e9 \u20ac\U0001F600");
  std::string many = "Action=DescribeVpcs";
  for (int i = 1; i <= 1000; i++) many += "&VpcId." + std::to_string(i) + "=v";
  EXPECT_EQ(error_code(many), "InvalidParameterValue");  // 1001 parameters
}

TEST(QueryDecoder, IgnoresVersionAndPresignedAuthParameters) {
  EXPECT_EQ(decode("Action=DescribeVpcs&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab").params,
            json::object());
}

// ---- the XML encoder ----------------------------------------------------------

namespace {

pugi::xml_document parse_xml(const std::string& text) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(text.c_str())) << text;
  return doc;
}
std::string at(const pugi::xml_document& doc, const char* xpath) {
  return doc.select_node(xpath).node().text().as_string();
}

}  // namespace

TEST(XmlEncoder, RunInstancesResponseAsEc2WritesIt) {
  json r = json::parse(R"({"ReservationId": "r-1234567890abcdef0", "OwnerId": "123456789012",
      "Instances": [{"InstanceId": "i-1234567890abcdef0", "InstanceType": "t2.micro",
      "State": {"Code": 16, "Name": "running"}, "SubnetId": "subnet-1", "PrivateIpAddress": "10.0.0.12",
      "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web"}],
      "Placement": {"AvailabilityZone": "us-east-1a", "GroupName": ""},
      "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "SourceDestCheck": true,
         "Attachment": {"AttachmentId": "eni-attach-1", "DeviceIndex": 0, "Status": "attached"},
         "Groups": [{"GroupId": "sg-1", "GroupName": "web"}],
         "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.12", "Primary": true}], "Ipv6Addresses": []}]}]})");
  auto doc = parse_xml(xml_response("RunInstances", r, "req-1"));
  auto root = doc.child("RunInstancesResponse");
  ASSERT_TRUE(root);
  EXPECT_STREQ(root.attribute("xmlns").value(), "http://ec2.amazonaws.com/doc/2016-11-15/");
  EXPECT_EQ(at(doc, "/RunInstancesResponse/requestId"), "req-1");
  EXPECT_EQ(at(doc, "/RunInstancesResponse/reservationId"), "r-1234567890abcdef0");
  EXPECT_EQ(at(doc, "/RunInstancesResponse/ownerId"), "123456789012");
  const std::string i = "/RunInstancesResponse/instancesSet/item";
  EXPECT_EQ(at(doc, (i + "/instanceId").c_str()), "i-1234567890abcdef0");
  EXPECT_EQ(at(doc, (i + "/instanceState/code").c_str()), "16");
  EXPECT_EQ(at(doc, (i + "/instanceState/name").c_str()), "running");
  EXPECT_EQ(at(doc, (i + "/groupSet/item/groupId").c_str()), "sg-1");
  EXPECT_EQ(at(doc, (i + "/placement/availabilityZone").c_str()), "us-east-1a");
  const std::string n = i + "/networkInterfaceSet/item";
  EXPECT_EQ(at(doc, (n + "/sourceDestCheck").c_str()), "true");
  EXPECT_EQ(at(doc, (n + "/attachment/deviceIndex").c_str()), "0");
  EXPECT_EQ(at(doc, (n + "/groupSet/item/groupName").c_str()), "web");
  EXPECT_EQ(at(doc, (n + "/privateIpAddressesSet/item/primary").c_str()), "true");
  EXPECT_TRUE(doc.select_node((n + "/ipv6AddressesSet").c_str()));
}

TEST(XmlEncoder, DescribeInstancesNestsReservations) {
  json r = json::parse(R"({"Reservations": [{"ReservationId": "r-1", "OwnerId": "000000001001",
      "Instances": [{"InstanceId": "i-1", "State": {"Code": 16, "Name": "running"}}]}]})");
  auto doc = parse_xml(xml_response("DescribeInstances", r, "x"));
  // What `aws ec2 wait instance-running` reads.
  EXPECT_EQ(at(doc, "/DescribeInstancesResponse/reservationSet/item/instancesSet/item/instanceState/name"), "running");
  EXPECT_EQ(at(doc, "/DescribeInstancesResponse/reservationSet/item/ownerId"), "000000001001");
}

TEST(XmlEncoder, SecurityGroupsAndTheirRules) {
  json r = json::parse(R"({"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "Description": "Web servers",
      "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/16"}],
      "UserIdGroupPairs": [{"GroupId": "sg-2"}]}], "IpPermissionsEgress": []}]})");
  auto doc = parse_xml(xml_response("DescribeSecurityGroups", r, "x"));
  const std::string g = "/DescribeSecurityGroupsResponse/securityGroupInfo/item";
  EXPECT_EQ(at(doc, (g + "/groupDescription").c_str()), "Web servers");
  EXPECT_EQ(at(doc, (g + "/ipPermissions/item/ipRanges/item/cidrIp").c_str()), "10.0.0.0/16");
  EXPECT_EQ(at(doc, (g + "/ipPermissions/item/groups/item/groupId").c_str()), "sg-2");
  EXPECT_EQ(at(doc, (g + "/ipPermissions/item/fromPort").c_str()), "22");
  EXPECT_TRUE(doc.select_node((g + "/ipPermissionsEgress").c_str()));
}

TEST(XmlEncoder, OtherListsAndEmptyResults) {
  auto doc = parse_xml(xml_response("DescribeVpcs", json::parse(R"({"Vpcs": [{"VpcId": "vpc-1", "IsDefault": false,
      "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2001:db8::/56"}]}]})"),
                                    "x"));
  EXPECT_EQ(at(doc, "/DescribeVpcsResponse/vpcSet/item/isDefault"), "false");
  EXPECT_EQ(at(doc, "/DescribeVpcsResponse/vpcSet/item/ipv6CidrBlockAssociationSet/item/ipv6CidrBlock"),
            "2001:db8::/56");
  doc = parse_xml(xml_response("StopInstances", json::parse(R"({"StoppingInstances": [{"InstanceId": "i-1",
      "CurrentState": {"Code": 64, "Name": "stopping"}}]})"),
                               "x"));
  EXPECT_EQ(at(doc, "/StopInstancesResponse/instancesSet/item/currentState/name"), "stopping");
  doc = parse_xml(xml_response("AssignPrivateIpAddresses", json::parse(R"({"NetworkInterfaceId": "eni-1",
      "AssignedPrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.9"}]})"),
                               "x"));
  EXPECT_EQ(at(doc, "/AssignPrivateIpAddressesResponse/assignedPrivateIpAddressesSet/item/privateIpAddress"),
            "10.0.0.9");
  doc = parse_xml(xml_response("DeleteNetworkInterface", json::object(), "x"));
  EXPECT_EQ(at(doc, "/DeleteNetworkInterfaceResponse/return"), "true");
  doc = parse_xml(xml_response("DescribeInstanceTypes", json::parse(R"({"InstanceTypes": [{"InstanceType": "c5.large",
      "NetworkInfo": {"BaselineBandwidthInGbps": 0.75, "EfaSupported": false}}]})"),
                               "x"));
  EXPECT_EQ(at(doc, "/DescribeInstanceTypesResponse/instanceTypeSet/item/networkInfo/baselineBandwidthInGbps"), "0.75");
  EXPECT_EQ(element_name("Subnets", "State"), "state");
  EXPECT_EQ(element_name("Instances", "PublicIpAddress"), "ipAddress");
}

TEST(XmlEncoder, TextAndNamesAlwaysMakeAWellFormedDocument) {
  json r = {{"Vpcs",
             {{{"VpcId", "vpc-1"},
               {"Description", std::string("a\x01"
                                           "b<c>&\"d")},
               {"not a name", 1}}}}};
  auto doc = parse_xml(xml_response("DescribeVpcs", r, "x"));
  EXPECT_EQ(at(doc, "/DescribeVpcsResponse/vpcSet/item/description"), "a?b<c>&\"d");
  EXPECT_EQ(doc.select_node("/DescribeVpcsResponse/vpcSet/item").node().first_child().next_sibling().next_sibling(),
            pugi::xml_node());
}

TEST(XmlEncoder, ErrorDocumentEscapesItsText) {
  auto doc = parse_xml(xml_error("InvalidVpcID.NotFound", "The vpc ID 'vpc-<&>' does not exist", "req-9"));
  EXPECT_EQ(at(doc, "/Response/Errors/Error/Code"), "InvalidVpcID.NotFound");
  EXPECT_EQ(at(doc, "/Response/Errors/Error/Message"), "The vpc ID 'vpc-<&>' does not exist");
  EXPECT_EQ(at(doc, "/Response/RequestID"), "req-9");
}

// ---- SigV4: AWS's published test suite (aws-sig-v4-test-suite, 2015-08-30) ----
// Credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, scope
// 20150830/us-east-1/service/aws4_request, host example.amazonaws.com.

namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

SignedRequest vector_request(const std::string& method, const std::string& query, const std::string& body = "",
                             const std::string& content_type = "") {
  SignedRequest r;
  r.method = method;
  r.path = "/";
  r.query = query;
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", content_type);
  r.body = body;
  return r;
}

std::string vector_signature(const SignedRequest& r, const std::vector<std::string>& signed_headers) {
  return signature(signing_key(kSecret, "20150830", "us-east-1", "service"),
                   string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request",
                                  canonical_request(r, signed_headers, false)));
}

}  // namespace

TEST(SigV4, GetVanilla) {
  auto r = vector_request("GET", "");
  EXPECT_EQ(canonical_request(r, {"host", "x-amz-date"}, false),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(vector_signature(r, {"host", "x-amz-date"}),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, PostVanilla) {
  EXPECT_EQ(vector_signature(vector_request("POST", ""), {"host", "x-amz-date"}),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4, GetVanillaQueryOrderKeyCase) {
  EXPECT_EQ(vector_signature(vector_request("GET", "Param2=value2&Param1=value1"), {"host", "x-amz-date"}),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, PostXWwwFormUrlencoded) {
  auto r = vector_request("POST", "", "Param1=value1", "application/x-www-form-urlencoded");
  EXPECT_EQ(vector_signature(r, {"content-type", "host", "x-amz-date"}),
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4, SigningKeyFromTheDocumentation) {
  // AWS's "deriving the signing key" example: 20120215/us-east-1/iam.
  EXPECT_EQ(to_hex(signing_key(kSecret, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, ReadsTheAuthorizationHeader) {
  auto r = vector_request("GET", "");
  r.headers.emplace_back("Authorization",
                         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                         "SignedHeaders=host;x-amz-date, "
                         "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  auto p = read_sigv4(r);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->access_key, "AKIDEXAMPLE");
  EXPECT_EQ(p->scope(), "20150830/us-east-1/service/aws4_request");
  EXPECT_EQ(p->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_FALSE(read_sigv4(vector_request("GET", "")));
  auto bad = vector_request("GET", "");
  bad.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015/x, Signature=zz");
  EXPECT_THROW(read_sigv4(bad), ApiError);
}

// ---- authentication: keys, scope, clock ---------------------------------------

namespace {

constexpr const char* kKeyId = "AKIDVENIC0001";
constexpr const char* kKeySecret = "venic-secret-0001";

std::chrono::system_clock::time_point at_time(int64_t epoch) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(epoch));
}
constexpr int64_t kSignedAt = 1440938160;  // 20150830T123600Z

// A request signed as botocore signs EC2's: POST, form body, header auth.
SignedRequest ec2_request(const std::string& body, const std::string& secret = kKeySecret,
                          const std::string& key = kKeyId, const std::string& service = "ec2") {
  SignedRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", "127.0.0.1:8773"},
               {"X-Amz-Date", "20150830T123600Z"},
               {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = body;
  std::vector<std::string> sh{"content-type", "host", "x-amz-date"};
  const std::string scope = "20150830/us-east-1/" + service + "/aws4_request";
  std::string sig = signature(signing_key(secret, "20150830", "us-east-1", service),
                              string_to_sign("20150830T123600Z", scope, canonical_request(r, sh, false)));
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + key + "/" + scope +
                                              ", SignedHeaders=content-type;host;x-amz-date, Signature=" + sig);
  return r;
}

AccessKeys test_keys() {
  AccessKeys k;
  k.add(kKeyId, {kKeySecret, 1001});
  return k;
}

std::string auth_error(const SignedRequest& r, int64_t now = kSignedAt) {
  try {
    authenticate(r, test_keys(), at_time(now));
  } catch (const ApiError& e) {
    return e.code;
  }
  return "";
}

}  // namespace

TEST(RequestAuth, AcceptsAGoodSignatureAndNamesItsOwner) {
  auto who = authenticate(ec2_request("Action=DescribeVpcs&Version=2016-11-15"), test_keys(), at_time(kSignedAt));
  EXPECT_EQ(who.uid, 1001);
  EXPECT_EQ(who.access_key, kKeyId);
}

TEST(RequestAuth, UnknownKeyAndWrongSignatureGetTheSameAnswer) {
  EXPECT_EQ(auth_error(ec2_request("Action=DescribeVpcs", "wrong-secret")), "AuthFailure");
  EXPECT_EQ(auth_error(ec2_request("Action=DescribeVpcs", kKeySecret, "AKIDNOSUCHKEY")), "AuthFailure");
  EXPECT_EQ(auth_error(ec2_request("Action=DescribeVpcs", kKeySecret, kKeyId, "s3")), "AuthFailure");
  auto tampered = ec2_request("Action=DescribeVpcs");
  tampered.body = "Action=DeleteVpc";
  EXPECT_EQ(auth_error(tampered), "AuthFailure");
  SignedRequest unsigned_req;
  unsigned_req.method = "POST";
  EXPECT_EQ(auth_error(unsigned_req), "AuthFailure");
  std::string msg_unknown, msg_wrong;
  try {
    authenticate(ec2_request("Action=DescribeVpcs", kKeySecret, "AKIDNOSUCHKEY"), test_keys(), at_time(kSignedAt));
  } catch (const ApiError& e) {
    msg_unknown = e.what();
  }
  try {
    authenticate(ec2_request("Action=DescribeVpcs", "wrong"), test_keys(), at_time(kSignedAt));
  } catch (const ApiError& e) {
    msg_wrong = e.what();
  }
  EXPECT_EQ(msg_unknown, msg_wrong);
}

TEST(RequestAuth, ClockSkewOfFifteenMinutes) {
  auto r = ec2_request("Action=DescribeVpcs");
  EXPECT_EQ(auth_error(r, kSignedAt + 14 * 60), "");
  EXPECT_EQ(auth_error(r, kSignedAt - 14 * 60), "");
  EXPECT_EQ(auth_error(r, kSignedAt + 16 * 60), "RequestExpired");
  EXPECT_EQ(auth_error(r, kSignedAt - 16 * 60), "RequestExpired");
}

TEST(RequestAuth, PresignedQuery) {
  SignedRequest r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "127.0.0.1:8773"}};
  r.query =
      "Action=DescribeVpcs&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDVENIC0001%2F"
      "20150830%2Fus-east-1%2Fec2%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host";
  std::string sig = signature(
      signing_key(kKeySecret, "20150830", "us-east-1", "ec2"),
      string_to_sign("20150830T123600Z", "20150830/us-east-1/ec2/aws4_request", canonical_request(r, {"host"}, true)));
  r.query += "&X-Amz-Signature=" + sig;
  EXPECT_EQ(auth_error(r, kSignedAt + 30), "");
  EXPECT_EQ(auth_error(r, kSignedAt + 61), "RequestExpired");
  r.query.replace(r.query.find("Expires=60"), 10, "Expires=90");
  EXPECT_EQ(auth_error(r, kSignedAt + 30), "AuthFailure");
}

// ---- access keys -----------------------------------------------------------------

TEST(AccessKeysFile, BothFormats) {
  auto a = AccessKeys::parse("# key secret uid\nAKIDLINE0001 s3cr3t/+= 1001\n\nAKIDLINE0002 other 0  # root\n");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a.find("AKIDLINE0001")->uid, 1001);
  EXPECT_EQ(a.find("AKIDLINE0001")->secret, "s3cr3t/+=");
  EXPECT_EQ(a.find("nope"), nullptr);
  auto j = AccessKeys::parse(R"([{"AccessKeyId": "AKIDJSON0001", "SecretAccessKey": "x", "Uid": 7}])");
  EXPECT_EQ(j.find("AKIDJSON0001")->uid, 7);
  EXPECT_THROW(AccessKeys::parse("AKIDLINE0001 secret\n"), std::runtime_error);
  EXPECT_THROW(AccessKeys::parse("AKIDLINE0001 secret 1 extra\n"), std::runtime_error);
  EXPECT_THROW(AccessKeys::parse("AKIDLINE0001 secret -1\n"), std::runtime_error);
  EXPECT_THROW(AccessKeys::parse("AKID/bad secret 1\n"), std::runtime_error);
  EXPECT_THROW(AccessKeys::parse("AKIDLINE0001 a 1\nAKIDLINE0001 b 2\n"), std::runtime_error);
  EXPECT_THROW(AccessKeys::parse(R"([{"AccessKeyId": "AKIDJSON0001"}])"), std::runtime_error);
}

TEST(AccessKeysFile, RefusesAFileOthersMayRead) {
  char path[] = "/tmp/venic-keys-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "AKIDFILE0001 secret 1001\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  ::chmod(path, 0600);
  EXPECT_EQ(AccessKeys::load(path).size(), 1u);
  ::chmod(path, 0640);
  EXPECT_THROW(AccessKeys::load(path), std::runtime_error);
  ::chmod(path, 0604);
  EXPECT_THROW(AccessKeys::load(path), std::runtime_error);
  ::unlink(path);
  EXPECT_THROW(AccessKeys::load(path), std::runtime_error);
}

// ---- pagination -------------------------------------------------------------------

TEST(Pagination, PagesThroughAListAndRefusesForgedTokens) {
  json all = json::array();
  for (int i = 0; i < 12; i++) all.push_back({{"VpcId", "vpc-" + std::to_string(i)}});
  json params = {{"MaxResults", 5}};
  std::vector<std::string> seen;
  std::string token;
  for (int pages = 0; pages < 10; pages++) {
    json p = params;
    if (!token.empty()) p["NextToken"] = token;
    Page page = take_page("DescribeVpcs", p);
    EXPECT_FALSE(p.contains("MaxResults"));
    EXPECT_FALSE(p.contains("NextToken"));
    json r = {{"Vpcs", all}};
    apply_page("DescribeVpcs", page, r);
    for (auto& v : r["Vpcs"]) seen.push_back(v["VpcId"]);
    if (!r.contains("NextToken")) break;
    token = r["NextToken"];
  }
  ASSERT_EQ(seen.size(), 12u);
  EXPECT_EQ(seen.front(), "vpc-0");
  EXPECT_EQ(seen.back(), "vpc-11");
  for (const char* bad : {"", "garbage", "venic-page-", "venic-page-x1", "venic-page-999999999"}) {
    json p = {{"NextToken", bad}};
    EXPECT_THROW(take_page("DescribeVpcs", p), ApiError) << bad;
  }
  json p = {{"MaxResults", 4}};
  EXPECT_THROW(take_page("DescribeVpcs", p), ApiError);
  json untouched = {{"MaxResults", 5}};
  take_page("CreateVpc", untouched);
  EXPECT_TRUE(untouched.contains("MaxResults"));
}

// ---- the whole request, with a fake model ---------------------------------------

namespace {

struct FakeModel {
  std::vector<std::pair<std::string, json>> calls;
  std::vector<int64_t> uids;
  json call(const std::string& action, const json& params, const venic::Caller& caller) {
    calls.emplace_back(action, params);
    uids.push_back(caller.uid);
    if (action == "DeleteVpc") throw venic::model::Ec2Error("busy", "DependencyViolation", "The vpc has dependencies");
    if (action == "DescribeVpcs") {
      json vpcs = json::array();
      for (int i = 0; i < 7; i++) vpcs.push_back({{"VpcId", "vpc-" + std::to_string(i)}});
      return {{"Vpcs", vpcs}};
    }
    return {{"Return", true}};
  }
};

}  // namespace

TEST(QueryApi, AnswersSignedRequestsAndEc2Errors) {
  FakeModel model;
  AccessKeys keys = test_keys();
  QueryApi api(
      keys, [&](auto& a, auto& p, auto& c) { return model.call(a, p, c); }, [] { return at_time(kSignedAt); });

  auto ok = api.handle(ec2_request("Action=DescribeVpcs&Version=2016-11-15&MaxResults=5"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto doc = parse_xml(ok.body);
  EXPECT_EQ(doc.select_nodes("/DescribeVpcsResponse/vpcSet/item").size(), 5u);
  EXPECT_EQ(at(doc, "/DescribeVpcsResponse/nextToken"), "venic-page-5");
  ASSERT_EQ(model.calls.size(), 1u);
  EXPECT_EQ(model.calls[0].second, json::object());  // the page is the API's business
  EXPECT_EQ(model.uids[0], 1001);

  auto dep = api.handle(ec2_request("Action=DeleteVpc&VpcId=vpc-1"));
  EXPECT_EQ(dep.status, 400);
  EXPECT_EQ(at(parse_xml(dep.body), "/Response/Errors/Error/Code"), "DependencyViolation");

  auto bad = api.handle(ec2_request("Action=DeleteVpc&VpcId=vpc-1", "wrong"));
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(at(parse_xml(bad.body), "/Response/Errors/Error/Code"), "AuthFailure");

  auto dry = api.handle(ec2_request("Action=CreateVpc&CidrBlock=10.0.0.0/16&DryRun=true"));
  EXPECT_EQ(dry.status, 412);
  EXPECT_EQ(at(parse_xml(dry.body), "/Response/Errors/Error/Code"), "DryRunOperation");

  auto odd_dry = api.handle(ec2_request("Action=CreateVpc&DryRun.1=true"));
  EXPECT_EQ(at(parse_xml(odd_dry.body), "/Response/Errors/Error/Code"), "InvalidParameterValue");

  auto invalid = api.handle(ec2_request("Action=Nonsense"));
  EXPECT_EQ(at(parse_xml(invalid.body), "/Response/Errors/Error/Code"), "InvalidAction");
  EXPECT_EQ(model.calls.size(), 2u);  // neither the refused, the dry run nor the unknown reached the model

  auto wrong_type = ec2_request("Action=DescribeVpcs");
  wrong_type.headers[2].second = "application/json";
  EXPECT_EQ(at(parse_xml(api.handle(wrong_type).body), "/Response/Errors/Error/Code"), "InvalidHttpRequest");
}

TEST(ControlTasks, RunsOnTheControlThreadAndRefusesOnceClosed) {
  venic::control::ControlTasks tasks;
  int ran = 0;
  EXPECT_TRUE(tasks.post([&] { ran++; }));
  tasks.run_pending();
  EXPECT_EQ(ran, 1);
  for (size_t i = 0; i < venic::control::ControlTasks::kMaxQueued; i++) EXPECT_TRUE(tasks.post([&] { ran++; }));
  EXPECT_FALSE(tasks.post([&] { ran++; }));  // full
  tasks.close();
  tasks.run_pending();
  EXPECT_EQ(ran, 1);  // dropped unrun
  EXPECT_FALSE(tasks.post([&] { ran++; }));
}

TEST(ListenAddress, ParsesHostAndPort) {
  auto o = parse_listen_address("127.0.0.1:8773");
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8773);
  EXPECT_EQ(parse_listen_address("[::1]:80").host, "::1");
  for (const char* bad : {"8773", ":8773", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http"})
    EXPECT_THROW(parse_listen_address(bad), std::invalid_argument) << bad;
}

// ---- the HTTP endpoint, with the control thread's queue ----------------------------

namespace {

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

}  // namespace

class NoPublisher : public venic::vf::Publisher {
 public:
  void publish(const venic::vf::VfTable&) override {}
};

TEST(HttpEndpoint, ServesOverHttpThroughTheControlThreadAndStopsCleanly) {
  // A real model behind the real hand-off (control_thread_call), as venicd wires them.
  char dir[] = "/tmp/venic-ec2api-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  NoPublisher pub;
  venic::state::StateStore store(std::string(dir) + "/state.json");
  venic::vf::VfTable table(pub, &store);
  venic::model::Ec2Service svc(table, &store);
  svc.restore(json());
  AccessKeys keys = test_keys();
  venic::control::ControlTasks tasks;
  QueryApi api(keys, control_thread_call(tasks, svc), [] { return at_time(kSignedAt); });
  EndpointOptions opts;
  opts.port = free_port();
  HttpEndpoint endpoint(opts, api);

  // Signed as botocore signs, for the Host header httplib's client sends.
  auto post = [&](const std::string& body) {
    SignedRequest r;
    r.method = "POST";
    r.path = "/";
    r.headers = {{"Host", "127.0.0.1:" + std::to_string(opts.port)},
                 {"X-Amz-Date", "20150830T123600Z"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    r.body = body;
    const std::string scope = "20150830/us-east-1/ec2/aws4_request";
    std::string sig = signature(
        signing_key(kKeySecret, "20150830", "us-east-1", "ec2"),
        string_to_sign("20150830T123600Z", scope, canonical_request(r, {"content-type", "host", "x-amz-date"}, false)));
    httplib::Client c("127.0.0.1", opts.port);
    c.set_read_timeout(40, 0);
    httplib::Headers h{{"X-Amz-Date", "20150830T123600Z"},
                       {"Authorization", std::string("AWS4-HMAC-SHA256 Credential=") + kKeyId + "/" + scope +
                                             ", SignedHeaders=content-type;host;x-amz-date, Signature=" + sig}};
    return c.Post("/", h, body, "application/x-www-form-urlencoded; charset=utf-8");
  };

  // The "control thread": the only one that runs the model's calls.
  std::atomic<bool> stop{false};
  std::thread control([&] {
    while (!stop) {
      tasks.run_pending();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto res = post("Action=CreateVpc&Version=2016-11-15&CidrBlock=10.9.0.0%2F16");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(at(parse_xml(res->body), "/CreateVpcResponse/vpc/ownerId"), "000000001001");
  res = post("Action=CreateVpc&CidrBlock=10.9.0.0%2F33");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  stop = true;
  control.join();
  ASSERT_EQ(svc.model().to_json()["vpcs"].size(), 1u) << svc.model().to_json().dump();

  // venicd stopping with a request queued: it is dropped unrun, its caller
  // hears ServiceUnavailable at once, and later ones RequestLimitExceeded.
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    tasks.close();
  });
  const auto t0 = std::chrono::steady_clock::now();
  res = post("Action=DescribeVpcs");
  closer.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(at(parse_xml(res->body), "/Response/Errors/Error/Code"), "ServiceUnavailable");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  res = post("Action=DescribeVpcs");
  ASSERT_TRUE(res);
  EXPECT_EQ(at(parse_xml(res->body), "/Response/Errors/Error/Code"), "RequestLimitExceeded");
  endpoint.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(HttpEndpoint, StopsRightAfterStarting) {
  AccessKeys keys = test_keys();
  QueryApi api(keys, [](const std::string&, const json&, const venic::Caller&) { return json::object(); });
  for (int i = 0; i < 20; i++) {
    EndpointOptions opts;
    opts.port = free_port();
    HttpEndpoint endpoint(opts, api);
    endpoint.stop();  // never hangs: the server was running when the constructor returned
  }
}

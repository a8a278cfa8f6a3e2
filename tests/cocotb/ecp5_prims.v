// Behavioural models of the two ECP5 primitives that gateware/primitives.py instantiates,
// for simulating the ECP5 flavour of the engine (yosys ships only black boxes for them).
// Only what the engine uses is modelled: equal data widths on both ports, CSDECODE 0b000,
// no resets; a port B read of an address that port A writes in the same cycle returns X
// (the hardware does not define it). MULT18X18D: input registers and the output register
// on CLK0/CE0 (or none), no pipeline register, no cascade, the C input unused.
// Generated once by hand; edit freely.
`timescale 1ns/1ps

module DP16KD(
  DIA0, DIA1, DIA2, DIA3, DIA4, DIA5, DIA6, DIA7, DIA8, DIA9, DIA10, DIA11, DIA12, DIA13, DIA14, DIA15, DIA16, DIA17, ADA0, ADA1, ADA2, ADA3, ADA4, ADA5, ADA6, ADA7, ADA8, ADA9, ADA10, ADA11, ADA12, ADA13, CEA, OCEA, CLKA, WEA, RSTA, CSA0, CSA1, CSA2, DOA0, DOA1, DOA2, DOA3, DOA4, DOA5, DOA6, DOA7, DOA8, DOA9, DOA10, DOA11, DOA12, DOA13, DOA14, DOA15, DOA16, DOA17, DIB0, DIB1, DIB2, DIB3, DIB4, DIB5, DIB6, DIB7, DIB8, DIB9, DIB10, DIB11, DIB12, DIB13, DIB14, DIB15, DIB16, DIB17, ADB0, ADB1, ADB2, ADB3, ADB4, ADB5, ADB6, ADB7, ADB8, ADB9, ADB10, ADB11, ADB12, ADB13, CEB, OCEB, CLKB, WEB, RSTB, CSB0, CSB1, CSB2, DOB0, DOB1, DOB2, DOB3, DOB4, DOB5, DOB6, DOB7, DOB8, DOB9, DOB10, DOB11, DOB12, DOB13, DOB14, DOB15, DOB16, DOB17
);
  input DIA0;
  input DIA1;
  input DIA2;
  input DIA3;
  input DIA4;
  input DIA5;
  input DIA6;
  input DIA7;
  input DIA8;
  input DIA9;
  input DIA10;
  input DIA11;
  input DIA12;
  input DIA13;
  input DIA14;
  input DIA15;
  input DIA16;
  input DIA17;
  input ADA0;
  input ADA1;
  input ADA2;
  input ADA3;
  input ADA4;
  input ADA5;
  input ADA6;
  input ADA7;
  input ADA8;
  input ADA9;
  input ADA10;
  input ADA11;
  input ADA12;
  input ADA13;
  input CEA;
  input OCEA;
  input CLKA;
  input WEA;
  input RSTA;
  input CSA0;
  input CSA1;
  input CSA2;
  output DOA0;
  output DOA1;
  output DOA2;
  output DOA3;
  output DOA4;
  output DOA5;
  output DOA6;
  output DOA7;
  output DOA8;
  output DOA9;
  output DOA10;
  output DOA11;
  output DOA12;
  output DOA13;
  output DOA14;
  output DOA15;
  output DOA16;
  output DOA17;
  input DIB0;
  input DIB1;
  input DIB2;
  input DIB3;
  input DIB4;
  input DIB5;
  input DIB6;
  input DIB7;
  input DIB8;
  input DIB9;
  input DIB10;
  input DIB11;
  input DIB12;
  input DIB13;
  input DIB14;
  input DIB15;
  input DIB16;
  input DIB17;
  input ADB0;
  input ADB1;
  input ADB2;
  input ADB3;
  input ADB4;
  input ADB5;
  input ADB6;
  input ADB7;
  input ADB8;
  input ADB9;
  input ADB10;
  input ADB11;
  input ADB12;
  input ADB13;
  input CEB;
  input OCEB;
  input CLKB;
  input WEB;
  input RSTB;
  input CSB0;
  input CSB1;
  input CSB2;
  output DOB0;
  output DOB1;
  output DOB2;
  output DOB3;
  output DOB4;
  output DOB5;
  output DOB6;
  output DOB7;
  output DOB8;
  output DOB9;
  output DOB10;
  output DOB11;
  output DOB12;
  output DOB13;
  output DOB14;
  output DOB15;
  output DOB16;
  output DOB17;
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  parameter RESETMODE = "SYNC";
  parameter ASYNC_RESET_RELEASE = "SYNC";
  parameter CSDECODE_A = "0b000";
  parameter CSDECODE_B = "0b000";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";
  parameter GSR = "ENABLED";
  localparam W = DATA_WIDTH_A;
  localparam SHIFT = W == 18 ? 4 : W == 9 ? 3 : W == 4 ? 2 : W == 2 ? 1 : 0;
  localparam DEPTH = 16384 >> SHIFT;

  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
  wire [13:0] wa = ada >> SHIFT;
  wire [13:0] wb = adb >> SHIFT;
  reg [W-1:0] mem [0:DEPTH-1];
  reg [W-1:0] la, lb, oa, ob;
  integer i;
  initial begin
    if (DATA_WIDTH_A != DATA_WIDTH_B) begin
      $display("DP16KD model: unequal port widths are not modelled");
      $finish;
    end
    for (i = 0; i < DEPTH; i = i + 1) mem[i] = 0;
    la = 0; lb = 0; oa = 0; ob = 0;
  end

  always @(posedge CLKA) if (CEA) begin
    if (WEA) mem[wa] <= dia[W-1:0];
    if (WRITEMODE_A == "READBEFOREWRITE" || !WEA) la <= mem[wa];
    else if (WRITEMODE_A == "WRITETHROUGH") la <= dia[W-1:0];
  end
  always @(posedge CLKA) if (OCEA) oa <= la;

  always @(posedge CLKB) if (CEB) begin
    if (WEB) mem[wb] <= dib[W-1:0];
    if (CEA && WEA && wa == wb && !WEB) lb <= {W{1'bx}};
    else if (WRITEMODE_B == "READBEFOREWRITE" || !WEB) lb <= mem[wb];
    else if (WRITEMODE_B == "WRITETHROUGH") lb <= dib[W-1:0];
  end
  always @(posedge CLKB) if (OCEB) ob <= lb;

  wire [17:0] doa = REGMODE_A == "OUTREG" ? oa : la;
  wire [17:0] dob = REGMODE_B == "OUTREG" ? ob : lb;
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
endmodule

module MULT18X18D(
  A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15, B16, B17, C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14, C15, C16, C17, SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3, SRIA0, SRIA1, SRIA2, SRIA3, SRIA4, SRIA5, SRIA6, SRIA7, SRIA8, SRIA9, SRIA10, SRIA11, SRIA12, SRIA13, SRIA14, SRIA15, SRIA16, SRIA17, SRIB0, SRIB1, SRIB2, SRIB3, SRIB4, SRIB5, SRIB6, SRIB7, SRIB8, SRIB9, SRIB10, SRIB11, SRIB12, SRIB13, SRIB14, SRIB15, SRIB16, SRIB17, P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17, P18, P19, P20, P21, P22, P23, P24, P25, P26, P27, P28, P29, P30, P31, P32, P33, P34, P35
);
  input A0;
  input A1;
  input A2;
  input A3;
  input A4;
  input A5;
  input A6;
  input A7;
  input A8;
  input A9;
  input A10;
  input A11;
  input A12;
  input A13;
  input A14;
  input A15;
  input A16;
  input A17;
  input B0;
  input B1;
  input B2;
  input B3;
  input B4;
  input B5;
  input B6;
  input B7;
  input B8;
  input B9;
  input B10;
  input B11;
  input B12;
  input B13;
  input B14;
  input B15;
  input B16;
  input B17;
  input C0;
  input C1;
  input C2;
  input C3;
  input C4;
  input C5;
  input C6;
  input C7;
  input C8;
  input C9;
  input C10;
  input C11;
  input C12;
  input C13;
  input C14;
  input C15;
  input C16;
  input C17;
  input SIGNEDA;
  input SIGNEDB;
  input SOURCEA;
  input SOURCEB;
  input CLK0;
  input CLK1;
  input CLK2;
  input CLK3;
  input CE0;
  input CE1;
  input CE2;
  input CE3;
  input RST0;
  input RST1;
  input RST2;
  input RST3;
  input SRIA0;
  input SRIA1;
  input SRIA2;
  input SRIA3;
  input SRIA4;
  input SRIA5;
  input SRIA6;
  input SRIA7;
  input SRIA8;
  input SRIA9;
  input SRIA10;
  input SRIA11;
  input SRIA12;
  input SRIA13;
  input SRIA14;
  input SRIA15;
  input SRIA16;
  input SRIA17;
  input SRIB0;
  input SRIB1;
  input SRIB2;
  input SRIB3;
  input SRIB4;
  input SRIB5;
  input SRIB6;
  input SRIB7;
  input SRIB8;
  input SRIB9;
  input SRIB10;
  input SRIB11;
  input SRIB12;
  input SRIB13;
  input SRIB14;
  input SRIB15;
  input SRIB16;
  input SRIB17;
  output P0;
  output P1;
  output P2;
  output P3;
  output P4;
  output P5;
  output P6;
  output P7;
  output P8;
  output P9;
  output P10;
  output P11;
  output P12;
  output P13;
  output P14;
  output P15;
  output P16;
  output P17;
  output P18;
  output P19;
  output P20;
  output P21;
  output P22;
  output P23;
  output P24;
  output P25;
  output P26;
  output P27;
  output P28;
  output P29;
  output P30;
  output P31;
  output P32;
  output P33;
  output P34;
  output P35;
  parameter REG_INPUTA_CLK = "NONE";
  parameter REG_INPUTA_CE = "CE0";
  parameter REG_INPUTA_RST = "RST0";
  parameter REG_INPUTB_CLK = "NONE";
  parameter REG_INPUTB_CE = "CE0";
  parameter REG_INPUTB_RST = "RST0";
  parameter REG_INPUTC_CLK = "NONE";
  parameter REG_INPUTC_CE = "CE0";
  parameter REG_INPUTC_RST = "RST0";
  parameter REG_PIPELINE_CLK = "NONE";
  parameter REG_PIPELINE_CE = "CE0";
  parameter REG_PIPELINE_RST = "RST0";
  parameter REG_OUTPUT_CLK = "NONE";
  parameter REG_OUTPUT_CE = "CE0";
  parameter REG_OUTPUT_RST = "RST0";
  parameter CLK0_DIV = "ENABLED";
  parameter CLK1_DIV = "ENABLED";
  parameter CLK2_DIV = "ENABLED";
  parameter CLK3_DIV = "ENABLED";
  parameter HIGHSPEED_CLK = "NONE";
  parameter GSR = "ENABLED";
  parameter CAS_MATCH_REG = "FALSE";
  parameter SOURCEB_MODE = "B_SHIFT";
  parameter MULT_BYPASS = "DISABLED";
  parameter RESETMODE = "SYNC";

  wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
  wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
  reg [18:0] ar, br;
  reg [35:0] pr;
  initial begin
    if (REG_PIPELINE_CLK != "NONE" || REG_INPUTA_CE != "CE0" || REG_INPUTB_CE != "CE0"
        || REG_OUTPUT_CE != "CE0") begin
      $display("MULT18X18D model: this register configuration is not modelled");
      $finish;
    end
    ar = 0; br = 0; pr = 0;
  end
  wire [18:0] a_ext = {SIGNEDA & a[17], a};
  wire [18:0] b_ext = {SIGNEDB & b[17], b};
  always @(posedge CLK0) if (CE0) begin
    ar <= a_ext;
    br <= b_ext;
  end
  wire [18:0] a_in = REG_INPUTA_CLK == "NONE" ? a_ext : ar;
  wire [18:0] b_in = REG_INPUTB_CLK == "NONE" ? b_ext : br;
  wire signed [37:0] full = $signed(a_in) * $signed(b_in);
  always @(posedge CLK0) if (CE0) pr <= full[35:0];
  wire [35:0] p = REG_OUTPUT_CLK == "NONE" ? full[35:0] : pr;
  assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = p;
endmodule

// TRELLIS_FF as gateware/primitives.py's LocalRegister uses it: CEMUX "1" (CE unused) or
// "CE", LSR tied low, rising CLK; it starts at zero (as the FPGA's flip-flops do after
// configuration).
module TRELLIS_FF(input CLK, input LSR, input CE, input DI, output reg Q);
  parameter GSR = "ENABLED";
  parameter CEMUX = "1";
  parameter CLKMUX = "CLK";
  parameter LSRMUX = "LSR";
  parameter SRMODE = "LSR_OVER_CE";
  parameter REGSET = "RESET";
  initial Q = 1'b0;
  always @(posedge CLK) if (CEMUX == "1" || CE) Q <= DI;
endmodule
